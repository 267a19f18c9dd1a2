// Which recipe values are secrets, so no message ever shows them: fields a component's schema
// marks `secret: true` (and everything inside them), and any field named like a credential.
import type { Component } from '../contract/component.js'
import type { JsonPath } from './yaml-document.js'

/** Whether the value at `p` (inside a component's config) is, or lies inside, a field marked `secret`. */
export function isSecretField(component: Component, p: JsonPath): boolean {
  let schema: unknown = component.schema
  for (const seg of p) {
    if ((schema as { secret?: boolean } | undefined)?.secret) return true
    const s = schema as
      | {
          properties?: Record<string, unknown>
          items?: unknown
          patternProperties?: Record<string, unknown>
          additionalProperties?: unknown
        }
      | undefined
    schema =
      typeof seg === 'string'
        ? (s?.properties?.[seg] ??
          Object.values(s?.patternProperties ?? {})[0] ??
          (typeof s?.additionalProperties === 'object' ? s.additionalProperties : undefined))
        : s?.items
  }
  return !!(schema as { secret?: boolean } | undefined)?.secret
}

/** Field names that hold secrets in any component (masked even before the component is known). */
export function isSecretPath(p: JsonPath): boolean {
  const last = p[p.length - 1]
  return typeof last === 'string' && /token|password|secret|credential/i.test(last)
}
