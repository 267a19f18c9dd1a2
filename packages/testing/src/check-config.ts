// The config a test gives, checked against the component's schema the way a recipe is (core's
// configFor), so the kit tests what a user's recipe would reach, defaults applied; and the rule
// that the schema documents every field, since it is the component's reference page.
import { configFor, isModelcarError, type Component } from '@modelcar/core'
import { ComplianceError } from './compliance-error.js'

export function checkedConfig(component: Component, config: Record<string, unknown>, what: string): Record<string, unknown> {
  try {
    return configFor(component, config) as Record<string, unknown>
  } catch (err) {
    const message = isModelcarError(err) ? err.message.replace(/^\[[^\]]*\] the config does not fit the schema: /, '') : String(err)
    throw new ComplianceError(component.type, `${what} is rejected by the component's own schema: ${message}`)
  }
}

/** Practice: the schema is the documentation, so every field says what it is. */
export function undocumentedFields(schema: unknown, prefix = ''): string[] {
  const s = schema as { properties?: Record<string, unknown>; description?: string; items?: unknown; type?: string }
  const out: string[] = []
  for (const [name, prop] of Object.entries(s.properties ?? {})) {
    const p = prop as { description?: string; type?: string; items?: unknown }
    if (!p.description) out.push(`${prefix}${name}`)
    const inner = (p.type === 'array' ? p.items : p) as { type?: string; properties?: unknown } | undefined
    if (inner?.type === 'object' && inner.properties)
      out.push(...undocumentedFields(inner, `${prefix}${name}${p.type === 'array' ? '[]' : ''}.`))
  }
  return out
}

/** The rules every kind shares: the right kind, a description, a documented schema. */
export function checkDeclaration(component: Component, kind: Component['kind'], fail: (message: string) => never): void {
  const define = `define${kind[0]!.toUpperCase()}${kind.slice(1)}`
  if (component?.kind !== kind) fail(`kind is \`${String(component?.kind)}\`, not \`${kind}\` (use ${define})`)
  if (typeof component.description !== 'string' || !component.description) fail('has no `description` (one line for its reference page)')
  const undocumented = undocumentedFields(component.schema)
  if (undocumented.length) fail(`schema fields without a description: ${undocumented.join(', ')} (the schema is the reference page)`)
}
