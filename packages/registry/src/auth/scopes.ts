// Token scopes (`repository:org/model:pull,push`, distribution docs/spec/auth/scope.md): parsed,
// merged into one stable form for the token cache and the token server, and described for messages.

export interface Scope {
  type: string
  name: string
  actions: string[]
}

/** `type:name:actions` (the name may hold `:`, a host's port); undefined when it has not three parts. */
export function parseScope(scope: string): Scope | undefined {
  const first = scope.indexOf(':')
  const last = scope.lastIndexOf(':')
  if (first < 0 || last === first) return undefined
  return { type: scope.slice(0, first), name: scope.slice(first + 1, last), actions: scope.slice(last + 1).split(',') }
}

/** The first repository the scopes name: credentials may be keyed by it (`quay.io/org/model` in auth.json). */
export function firstRepository(scopes: string[]): string | undefined {
  return scopes.map(parseScope).find((s) => s?.type === 'repository')?.name
}

/**
 * Sorted, and one entry per resource with its actions merged (`pull` + `push` → `pull,push`), so
 * the token cache key does not depend on the caller's order and the token server sees each repository once.
 */
export function normalizeScopes(scopes: string[]): string[] {
  const merged = new Map<string, Set<string>>()
  const opaque: string[] = []
  for (const scope of scopes) {
    const p = parseScope(scope)
    if (!p) {
      if (scope) opaque.push(scope)
      continue
    }
    const key = `${p.type}:${p.name}`
    const actions = merged.get(key) ?? new Set<string>()
    for (const a of p.actions) if (a) actions.add(a)
    merged.set(key, actions)
  }
  const out = [...merged].map(([key, actions]) => `${key}:${[...actions].sort().join(',')}`)
  return [...new Set([...out, ...opaque])].sort()
}

/** `repository:org/model:pull,push` → "`org/model` (pull,push)", for messages. */
export function describeScopes(scopes: string[]): string {
  const parts = scopes.map((s) => {
    const p = parseScope(s)
    if (!p) return `\`${s}\``
    return `${p.type === 'repository' ? '' : `${p.type} `}\`${p.name}\` (${p.actions.join(',')})`
  })
  return parts.length ? parts.join(', ') : 'the registry'
}
