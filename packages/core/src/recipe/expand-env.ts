// `${VAR}` and `${VAR:-default}` in recipe strings, expanded from the environment. `$${` is a
// literal `${`. Anything else after `${`, an unclosed `${NAME` included, is a mistake to report,
// not text to keep.

const REF = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{([^}]*)\}|\$\{[^}]*$/g

export interface Expansion {
  value: string
  /** Variables referenced without a default and not set. */
  missing: string[]
  /** References that are not `${NAME}` or `${NAME:-default}`. */
  malformed: string[]
  /** True when anything was substituted: the value is then never shown in messages. */
  expanded: boolean
}

export function expandEnv(text: string, env: Readonly<Record<string, string | undefined>>): Expansion {
  const missing: string[] = []
  const malformed: string[] = []
  let expanded = false
  const value = text.replace(REF, (whole, name: string | undefined, fallback: string | undefined, bad: string | undefined) => {
    if (whole === '$${') return '${'
    if (bad !== undefined || name === undefined) {
      malformed.push(whole)
      return whole
    }
    expanded = true
    const v = env[name]
    if (v !== undefined && v !== '') return v
    if (fallback !== undefined) return fallback
    if (v === undefined) missing.push(name)
    return ''
  })
  return { value, missing, malformed, expanded }
}
