// Turns schema violations into diagnostics a person can act on: what is wrong, the offending
// value in backticks (never a secret), and what would be right.
import type { TSchema } from '@sinclair/typebox'
import { ValueErrorType, type ValueError } from '@sinclair/typebox/value'

export interface SchemaProblem {
  /** JSON path segments from the checked value's root. */
  path: (string | number)[]
  /** Point at the key (unknown field) rather than the value. */
  atKey: boolean
  message: string
  hint?: string
}

/** `/sources/0/repo` → ['sources', 0, 'repo']. */
export function pointerToPath(pointer: string): (string | number)[] {
  if (!pointer) return []
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^(0|[1-9][0-9]*)$/.test(s) ? Number(s) : s))
}

/** `['sources', 0, 'repo']` → `sources[0].repo`. */
export function pathLabel(path: (string | number)[]): string {
  let out = ''
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out ? `.${seg}` : seg
  return out || '(recipe)'
}

type Shown = (path: (string | number)[], value: unknown) => string

/** `value` as shown in a message; secrets and expanded variables are masked by the caller's `show`. */
export function showValue(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  return `\`${text && text.length > 80 ? `${text.slice(0, 77)}...` : text}\``
}

function typeName(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return 'a mapping'
  if (typeof v === 'string') return 'a string'
  if (typeof v === 'number') return Number.isInteger(v) ? 'an integer' : 'a number'
  if (typeof v === 'boolean') return 'a boolean'
  return typeof v
}

function expectation(schema: TSchema): string | undefined {
  const ex = (schema as { examples?: unknown[] }).examples
  const desc = (schema as { description?: string }).description
  const parts: string[] = []
  if (desc) parts.push(desc)
  if (ex && ex.length) parts.push(`e.g. ${ex.map((e) => showValue(e)).join(', ')}`)
  return parts.length ? parts.join(' ') : undefined
}

function literals(schema: TSchema): unknown[] | undefined {
  const anyOf = (schema as { anyOf?: TSchema[] }).anyOf
  if (!anyOf) return undefined
  const vals = anyOf.map((s) => (s as { const?: unknown }).const)
  return vals.every((v) => v !== undefined) ? vals : undefined
}

/** The closest allowed name, for "did you mean". */
export function closest(word: string, options: string[]): string | undefined {
  let best: string | undefined
  let bestD = Infinity
  for (const o of options) {
    const d = editDistance(word.toLowerCase(), o.toLowerCase())
    if (d < bestD) {
      bestD = d
      best = o
    }
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = cur
    }
  }
  return row[b.length]!
}

const EXPECTED_TYPE: Partial<Record<ValueErrorType, string>> = {
  [ValueErrorType.String]: 'a string',
  [ValueErrorType.Number]: 'a number',
  [ValueErrorType.Integer]: 'an integer',
  [ValueErrorType.Boolean]: 'a boolean',
  [ValueErrorType.Object]: 'a mapping',
  [ValueErrorType.Array]: 'a list',
}

export function describeSchemaErrors(errs: Iterable<ValueError>, show: Shown, prefix: (string | number)[] = []): SchemaProblem[] {
  const out: SchemaProblem[] = []
  const seen = new Set<string>()
  for (const e of errs) {
    const path = [...prefix, ...pointerToPath(e.path)]
    const key = `${path.join('/')}`
    // One message per place: the first is the most specific TypeBox gives.
    if (seen.has(key)) continue
    seen.add(key)
    const where = pathLabel(path)
    const last = path[path.length - 1]
    switch (e.type) {
      case ValueErrorType.ObjectAdditionalProperties: {
        const allowed = Object.keys((e.schema as { properties?: object }).properties ?? {})
        const guess = closest(String(last), allowed)
        out.push({
          path,
          atKey: true,
          message: `unknown field \`${String(last)}\` in ${pathLabel(path.slice(0, -1))}${guess ? ` (did you mean \`${guess}\`?)` : ''}`,
          hint: `allowed: ${allowed.join(', ')}`,
        })
        break
      }
      case ValueErrorType.ObjectRequiredProperty:
        out.push({ path, atKey: false, message: `${pathLabel(path.slice(0, -1))} is missing the required field \`${String(last)}\``, hint: expectation(e.schema) })
        break
      case ValueErrorType.Union: {
        const lits = literals(e.schema)
        out.push({
          path,
          atKey: false,
          message: lits ? `${where}: ${show(path, e.value)} is not one of ${lits.map((l) => `\`${String(l)}\``).join(', ')}` : `${where}: ${show(path, e.value)} is not valid here`,
          hint: expectation(e.schema),
        })
        break
      }
      case ValueErrorType.Literal:
        out.push({ path, atKey: false, message: `${where}: ${show(path, e.value)} must be \`${String((e.schema as { const?: unknown }).const)}\``, hint: expectation(e.schema) })
        break
      case ValueErrorType.StringPattern:
      case ValueErrorType.StringFormat:
        out.push({ path, atKey: false, message: `${where}: ${show(path, e.value)} is not in the expected form`, hint: expectation(e.schema) })
        break
      case ValueErrorType.ArrayMinItems:
        out.push({ path, atKey: false, message: `${where} needs at least ${(e.schema as { minItems?: number }).minItems} entr${(e.schema as { minItems?: number }).minItems === 1 ? 'y' : 'ies'}`, hint: expectation(e.schema) })
        break
      case ValueErrorType.ArrayUniqueItems:
        out.push({ path, atKey: false, message: `${where} lists the same value twice`, hint: expectation(e.schema) })
        break
      case ValueErrorType.String:
      case ValueErrorType.Number:
      case ValueErrorType.Integer:
      case ValueErrorType.Boolean:
      case ValueErrorType.Object:
      case ValueErrorType.Array: {
        const want = EXPECTED_TYPE[e.type] ?? 'another type'
        out.push({ path, atKey: false, message: `${where}: expected ${want}, got ${typeName(e.value)} ${show(path, e.value)}`, hint: expectation(e.schema) })
        break
      }
      default:
        out.push({ path, atKey: false, message: `${where}: ${show(path, e.value)}: ${e.message.toLowerCase()}`, hint: expectation(e.schema) })
    }
  }
  return out
}
