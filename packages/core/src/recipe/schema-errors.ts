// Turns schema violations into diagnostics a person can act on: what is wrong, the offending
// value in backticks (never a secret), and what would be right.
import type { TSchema } from '@sinclair/typebox'
import { ValueErrorType, type ValueError } from '@sinclair/typebox/value'

export interface SchemaProblem {
  /** JSON path segments from the checked value's root. */
  path: (string | number)[]
  /** Point at the key (unknown field) rather than the value. */
  atKey: boolean
  /** An unknown field's likely intended name (`pth` → `path`). */
  correction?: string
  /** A required field is absent. */
  missing?: boolean
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

/** `['sources', 0, 'repo']` → `sources[0].repo`; the root is `the recipe`. */
export function pathLabel(path: (string | number)[]): string {
  let out = ''
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out ? `.${seg}` : seg
  return out || 'the recipe'
}

type Shown = (path: (string | number)[], value: unknown) => string

/** `value` as shown in a message; secrets and expanded variables are masked by the caller's `show`. */
export function showValue(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  return `\`${text && text.length > 80 ? `${text.slice(0, 77)}...` : text}\``
}

function typeName(v: unknown): string {
  if (v === null || v === undefined) return 'nothing'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return 'a mapping'
  if (typeof v === 'string') return 'a string'
  if (typeof v === 'number') return Number.isInteger(v) ? 'an integer' : 'a number'
  if (typeof v === 'boolean') return 'a boolean'
  return typeof v
}

/** What would be right: the field's description, examples and, when it has one, its pattern. */
function expectation(schema: TSchema): string | undefined {
  const { description, examples, pattern } = schema as { description?: string; examples?: unknown[]; pattern?: string }
  const parts: string[] = []
  if (description) parts.push(description)
  if (examples?.length) parts.push(`e.g. ${examples.map((e) => showValue(e)).join(', ')}`)
  // A pattern is the only exact statement of a form; descriptions and examples can leave it open.
  if (pattern) parts.push(`(must match \`${pattern}\`)`)
  return parts.length ? parts.join(' ') : undefined
}

/** `add \`path: ./model\``: the fix for a missing field, from the field's first example. */
function addition(field: string, schema: TSchema): string | undefined {
  const example = (schema as { examples?: unknown[] }).examples?.[0]
  const description = (schema as { description?: string }).description
  if (example === undefined) return expectation(schema)
  const text = typeof example === 'string' ? example : JSON.stringify(example)
  return `add \`${field}: ${text}\`${description ? `. ${description}` : ''}`
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
  [ValueErrorType.Null]: 'nothing',
}

const TOO_SMALL = new Set([
  ValueErrorType.IntegerMinimum,
  ValueErrorType.NumberMinimum,
  ValueErrorType.IntegerExclusiveMinimum,
  ValueErrorType.NumberExclusiveMinimum,
])
const TOO_LARGE = new Set([
  ValueErrorType.IntegerMaximum,
  ValueErrorType.NumberMaximum,
  ValueErrorType.IntegerExclusiveMaximum,
  ValueErrorType.NumberExclusiveMaximum,
])

export function describeSchemaErrors(errs: Iterable<ValueError>, show: Shown, prefix: (string | number)[] = []): SchemaProblem[] {
  const out: SchemaProblem[] = []
  const seen = new Set<string>()
  for (const e of errs) {
    const path = [...prefix, ...pointerToPath(e.path)]
    // One message per place: the first is the most specific TypeBox gives.
    if (seen.has(path.join('/'))) continue
    seen.add(path.join('/'))
    out.push(describeOne(e, path, show))
  }
  // A misspelt field also makes the right one missing: `pth` (did you mean `path`?) is one problem,
  // so the "missing `path`" it causes is not reported beside it.
  const misspelt = new Set(out.flatMap((p) => (p.correction ? [[...p.path.slice(0, -1), p.correction].join('/')] : [])))
  return out.filter((p) => !(p.missing && misspelt.has(p.path.join('/'))))
}

function describeOne(e: ValueError, path: (string | number)[], show: Shown): SchemaProblem {
  const where = pathLabel(path)
  const last = path[path.length - 1]
  const shown = () => show(path, e.value)
  const hint = expectation(e.schema)
  switch (e.type) {
    case ValueErrorType.ObjectAdditionalProperties: {
      const allowed = Object.keys((e.schema as { properties?: object }).properties ?? {})
      const guess = closest(String(last), allowed)
      return {
        path,
        atKey: true,
        correction: guess,
        message: `unknown field \`${String(last)}\` in ${pathLabel(path.slice(0, -1))}${guess ? ` (did you mean \`${guess}\`?)` : ''}`,
        hint: `allowed: ${allowed.join(', ')}`,
      }
    }
    case ValueErrorType.ObjectRequiredProperty:
      return {
        path,
        atKey: false,
        missing: true,
        message: `${pathLabel(path.slice(0, -1))} is missing the required field \`${String(last)}\``,
        hint: addition(String(last), e.schema),
      }
    case ValueErrorType.Union: {
      const lits = literals(e.schema)
      if (lits)
        return { path, atKey: false, message: `${where}: ${shown()} is not one of ${lits.map((l) => `\`${String(l)}\``).join(', ')}`, hint }
      // `groupBelow: 1 MiBB` fails the string branch (its form) and the integer branch (its type);
      // only the branch the value's type fits says what is wrong.
      const fitting = e.errors.map((it) => it.First()).filter((first) => first && !(first.path === e.path && first.type in EXPECTED_TYPE))
      if (fitting.length === 1) {
        const inner = describeOne(fitting[0]!, path, show)
        return { ...inner, hint: [hint, inner.hint].filter(Boolean).join(' ') || undefined }
      }
      return { path, atKey: false, message: `${where}: ${shown()} is not valid here`, hint }
    }
    case ValueErrorType.Literal:
      return { path, atKey: false, message: `${where}: ${shown()} must be \`${String((e.schema as { const?: unknown }).const)}\``, hint }
    case ValueErrorType.StringPattern:
    case ValueErrorType.StringFormat:
      return { path, atKey: false, message: `${where}: ${shown()} is not in the expected form`, hint }
    case ValueErrorType.StringMinLength: {
      const min = (e.schema as { minLength?: number }).minLength
      return {
        path,
        atKey: false,
        message: min === 1 ? `${where} is empty` : `${where}: ${shown()} is shorter than ${min} characters`,
        hint,
      }
    }
    case ValueErrorType.StringMaxLength:
      return { path, atKey: false, message: `${where} is longer than ${(e.schema as { maxLength?: number }).maxLength} characters`, hint }
    case ValueErrorType.ArrayMinItems: {
      const min = (e.schema as { minItems?: number }).minItems
      return { path, atKey: false, message: `${where} needs at least ${min} entr${min === 1 ? 'y' : 'ies'}`, hint }
    }
    case ValueErrorType.ArrayUniqueItems:
      return { path, atKey: false, message: `${where} lists the same value twice`, hint }
    default: {
      const want = EXPECTED_TYPE[e.type]
      // An empty value (`transforms:`) has no place of its own: point at its key.
      if (want)
        return {
          path,
          atKey: e.value == null,
          message: `${where}: expected ${want}, got ${typeName(e.value)}${e.value == null ? '' : ` ${shown()}`}`,
          hint,
        }
      const bounds = e.schema as { minimum?: number; maximum?: number; exclusiveMinimum?: number; exclusiveMaximum?: number }
      if (TOO_SMALL.has(e.type))
        return {
          path,
          atKey: false,
          message: `${where}: ${shown()} is too small: it must be ${bounds.minimum !== undefined ? `at least ${bounds.minimum}` : `above ${bounds.exclusiveMinimum}`}`,
          hint,
        }
      if (TOO_LARGE.has(e.type))
        return {
          path,
          atKey: false,
          message: `${where}: ${shown()} is too large: it must be ${bounds.maximum !== undefined ? `at most ${bounds.maximum}` : `below ${bounds.exclusiveMaximum}`}`,
          hint,
        }
      return { path, atKey: false, message: `${where}: ${shown()}: ${e.message.toLowerCase()}`, hint }
    }
  }
}
