// The config a test gives, checked against the component's schema the way a recipe is, so the kit
// tests what a user's recipe would reach, defaults applied.
import { Value } from '@sinclair/typebox/value'
import type { Component } from '@modelcar/core'
import { ComplianceError } from './compliance-error.js'

export function checkedConfig(component: Component, config: Record<string, unknown>, what: string): Record<string, unknown> {
  const withDefaults = Value.Default(component.schema, structuredClone(config)) as Record<string, unknown>
  const problems = [...Value.Errors(component.schema, withDefaults)].map((e) => `${e.path || '(root)'}: ${e.message}`)
  if (problems.length)
    throw new ComplianceError(component.type, `${what} is rejected by the component's own schema: ${problems.join('; ')}`)
  return withDefaults
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
