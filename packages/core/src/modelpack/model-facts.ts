// What a model's own files say about it, read from their first bytes: a safetensors header (each
// tensor's dtype and shape, so the parameter count and precision), `config.json` (architecture,
// family, dtype, quantization) and the model card's front matter (licences, languages, authors).
// Each probe says how many leading bytes it needs; the engine hands them over as the file streams.
import { parse as parseYaml } from 'yaml'
import { spdxLicense } from './spdx.js'

export interface SafetensorsFacts {
  /** Parameters (tensor elements) by safetensors dtype: `{ "BF16": 2506172416 }`. */
  parameters: Record<string, number>
}

export interface ModelConfigFacts {
  /** `architectures[0]`: `LlamaForCausalLM`. */
  architecture?: string
  /** `model_type`: `llama`. */
  family?: string
  /** `torch_dtype` (or `dtype`): `bfloat16`. */
  dtype?: string
  /** `quantization_config.quant_method`: `gptq`, `awq`. */
  quantization?: string
}

export interface CardFacts {
  /** SPDX expressions. */
  licenses?: string[]
  /** ISO 639-1 codes. */
  languages?: string[]
  authors?: string[]
  vendor?: string
  /** Datasets the card names (Hub ids or URLs). */
  datasets?: string[]
}

/** What one file said; one of the three, by what the file is. */
export type ContentFacts = { safetensors: SafetensorsFacts } | { modelConfig: ModelConfigFacts } | { card: CardFacts }

export interface ContentProbe {
  /** What the file is read as: the same bytes say other things as a card than as `config.json`. */
  readonly sort: 'safetensors' | 'modelConfig' | 'card'
  /** Leading bytes wanted, given the `head` seen so far (0: nothing more). Never more than the file has. */
  wants(head: Uint8Array): number
  /** The facts, once `wants(head) <= head.byteLength`; undefined when the bytes say nothing usable. */
  read(head: Uint8Array): ContentFacts | undefined
}

/** A safetensors header larger than this is not read (real ones are a few MiB at most). */
const MAX_SAFETENSORS_HEADER = 32 << 20
const MAX_CONFIG_JSON = 4 << 20
/** The front matter is at the top of the card: this much of it is enough. */
const CARD_HEAD = 64 << 10

/** The probe for a file, by its path under the model root; undefined when its bytes tell nothing the config needs. */
export function probeFor(target: string, size: number, modelcard: boolean): ContentProbe | undefined {
  if (/\.safetensors$/i.test(target)) return safetensorsProbe(size)
  if (target === 'config.json' && size <= MAX_CONFIG_JSON) return wholeFile('modelConfig', size, modelConfigFacts)
  if (modelcard || /^readme\.md$/i.test(target)) return wholeFile('card', Math.min(size, CARD_HEAD), cardFacts)
  return undefined
}

function wholeFile(sort: ContentProbe['sort'], bytes: number, read: (head: Uint8Array) => ContentFacts | undefined): ContentProbe {
  return { sort, wants: () => bytes, read: (head) => read(head.subarray(0, bytes)) }
}

/** 8 bytes of little-endian header length, then that much JSON. */
function safetensorsProbe(size: number): ContentProbe {
  const headerLength = (head: Uint8Array) => Number(Buffer.from(head.buffer, head.byteOffset, 8).readBigUInt64LE(0))
  return {
    sort: 'safetensors',
    wants(head) {
      if (head.byteLength < 8) return Math.min(8, size)
      const n = headerLength(head)
      return n > MAX_SAFETENSORS_HEADER || 8 + n > size ? 0 : 8 + n
    },
    read(head) {
      if (head.byteLength < 8) return undefined
      const n = headerLength(head)
      if (head.byteLength < 8 + n) return undefined
      const facts = safetensorsFacts(head.subarray(8, 8 + n))
      return facts && { safetensors: facts }
    },
  }
}

export function safetensorsFacts(header: Uint8Array): SafetensorsFacts | undefined {
  const json = parseJsonObject(header)
  if (!json) return undefined
  const parameters: Record<string, number> = {}
  for (const [name, tensor] of Object.entries(json)) {
    if (name === '__metadata__' || !tensor || typeof tensor !== 'object') continue
    const { dtype, shape } = tensor as { dtype?: unknown; shape?: unknown }
    if (typeof dtype !== 'string' || !Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) return undefined
    parameters[dtype] = (parameters[dtype] ?? 0) + (shape as number[]).reduce((a, b) => a * b, 1)
  }
  return { parameters }
}

export function modelConfigFacts(bytes: Uint8Array): ContentFacts | undefined {
  const json = parseJsonObject(bytes)
  if (!json) return undefined
  const text = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : undefined)
  const architectures = Array.isArray(json.architectures) ? json.architectures : []
  const quant = json.quantization_config as { quant_method?: unknown } | undefined
  const facts: ModelConfigFacts = {}
  const architecture = text(architectures[0])
  const family = text(json.model_type)
  const dtype = text(json.torch_dtype) ?? text(json.dtype)
  const quantization = text(quant?.quant_method)
  if (architecture) facts.architecture = architecture
  if (family) facts.family = family
  if (dtype) facts.dtype = dtype
  if (quantization) facts.quantization = quantization
  return { modelConfig: facts }
}

/** The YAML between a leading `---` line and the next one, as Hugging Face cards carry their metadata. */
export function cardFacts(bytes: Uint8Array): ContentFacts | undefined {
  const text = Buffer.from(bytes)
    .toString('utf8')
    .replace(/^\uFEFF/, '')
  const m = /^---\r?\n([\s\S]*?)\r?\n---\s*(\r?\n|$)/.exec(text)
  if (!m) return { card: {} }
  let meta: unknown
  try {
    meta = parseYaml(m[1]!)
  } catch {
    return { card: {} }
  }
  if (!meta || typeof meta !== 'object' || Array.isArray(meta)) return { card: {} }
  const v = meta as Record<string, unknown>
  const card: CardFacts = {}
  const licenseName = strings(v.license_name)[0]
  const licenses = strings(v.license).flatMap((id) => spdxLicense(id, licenseName) ?? [])
  const languages = strings(v.language).filter((l) => /^[a-z]{2}$/.test(l))
  const authors = strings(v.authors ?? v.author)
  const vendor = strings(v.vendor ?? v.model_creator)[0]
  const datasets = strings(v.datasets)
  if (licenses.length) card.licenses = [...new Set(licenses)]
  if (languages.length) card.languages = [...new Set(languages)]
  if (authors.length) card.authors = authors
  if (vendor) card.vendor = vendor
  if (datasets.length) card.datasets = datasets
  return { card }
}

/** A string or a list of them, as front matter writes either; anything else is nothing. */
function strings(v: unknown): string[] {
  const list = Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]
  return list.filter((s): s is string => typeof s === 'string' && s.trim() !== '').map((s) => s.trim())
}

function parseJsonObject(bytes: Uint8Array): Record<string, unknown> | undefined {
  try {
    const json: unknown = JSON.parse(Buffer.from(bytes).toString('utf8'))
    return json && typeof json === 'object' && !Array.isArray(json) ? (json as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}
