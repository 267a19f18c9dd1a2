// The plans the transform kit hands to apply(): a small default model held in memory, copies that
// share nothing a transform could change, and a plan's shape as plain data, to tell whether
// apply() changed the plan it was given and whether two runs gave the same plan.
import { DEFAULT_MAX_LAYERS, type ModelFile, type Plan, type PlannedFile } from '@modelcar/core'

/** The model of the default plan: a config, weights, a tokenizer file and a card. */
const KIT_FILES: Record<string, Buffer> = {
  'README.md': Buffer.from('# kit model\n\nA model made of four files.\n'),
  'config.json': Buffer.from('{"hidden_size":8}\n'),
  'model.safetensors': Buffer.from(Array.from({ length: 96 * 1024 }, (_, i) => (i * 131 + 7) % 251)),
  'tokenizer/vocab.json': Buffer.from('{"a":0,"b":1}\n'),
}

/** The source type the default plan's files carry. */
export const KIT_SOURCE = 'kit'

function memoryFile(path: string, bytes: Buffer): ModelFile {
  return {
    path,
    size: bytes.length,
    origin: `kit:///${path}`,
    open: async (opts = {}) => [bytes.subarray(opts.start ?? 0)],
  }
}

/** A plan as the engine hands it to the first transform: four files from a source, nothing else set. */
export function kitPlan(): Plan {
  return {
    prefix: 'models',
    files: Object.entries(KIT_FILES).map(([path, bytes]) => ({ file: memoryFile(path, bytes), target: path, source: KIT_SOURCE })),
    derived: [],
    layering: { strategy: 'per-file', groupBelowBytes: 1 << 20, maxLayers: DEFAULT_MAX_LAYERS },
    compression: 'none',
    modelcardCompression: 'gzip',
    annotations: {},
    labels: {},
    baseLayers: 0,
  }
}

/** A copy that shares no object with `plan` (files and their ModelFiles copied; functions shared). */
export function copyPlan(plan: Plan): Plan {
  const file = (f: PlannedFile): PlannedFile => ({ ...f, file: { ...f.file } })
  return {
    ...plan,
    files: plan.files.map(file),
    derived: plan.derived.map((d) => ({ ...d })),
    layering: { ...plan.layering },
    annotations: { ...plan.annotations },
    labels: { ...plan.labels },
  }
}

/** Names functions and class instances by identity (`fn#3`) across the shapes of one check. */
export type FunctionNames = Map<unknown, string>

/**
 * The plan as plain data, copied deep. With `functions`, each function (open(), build()) and class
 * instance is named by identity, so a replaced one shows; without, they are left out (two runs
 * make new ones).
 */
export function planShape(plan: Plan, functions?: FunctionNames): unknown {
  const named = (v: unknown) => {
    if (!functions) return undefined
    if (!functions.has(v)) functions.set(v, `${typeof v === 'function' ? 'fn' : 'object'}#${functions.size + 1}`)
    return functions.get(v)
  }
  const plain = (v: unknown, seen: Set<unknown>): unknown => {
    if (typeof v === 'function') return named(v)
    if (typeof v !== 'object' || v === null) return v
    if (v instanceof Uint8Array) return `bytes:${Buffer.from(v).toString('base64')}`
    // Class instances (a client a ModelFile keeps) are compared by identity, not walked.
    if (![Object.prototype, Array.prototype, null].includes(Object.getPrototypeOf(v))) return named(v)
    if (seen.has(v)) return '(cycle)'
    seen.add(v)
    const out = Array.isArray(v) ? v.map((x) => plain(x, seen)) : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x, seen)]))
    seen.delete(v)
    return out
  }
  return plain(plan, new Set())
}

/** Where two shapes first differ: `files[0].target: `a` then `b``, or undefined. */
export function firstDifference(a: unknown, b: unknown, at = ''): string | undefined {
  if (Object.is(a, b)) return undefined
  const show = (v: unknown) => (v === undefined ? '(nothing)' : `\`${JSON.stringify(v)}\``)
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b))
    return `${at || '(the plan)'}: ${show(a)} then ${show(b)}`
  if (Array.isArray(a) && Array.isArray(b) && a.length !== b.length) return `${at}: ${a.length} entries then ${b.length}`
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()
  for (const k of keys) {
    const path = Array.isArray(a) ? `${at}[${k}]` : at ? `${at}.${k}` : k
    const diff = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path)
    if (diff) return diff
  }
  return undefined
}
