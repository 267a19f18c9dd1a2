// The ModelPack config, filled from what modelcar knows: the manifest annotations (provenance from
// the source, OCI annotations a recipe set), what the files said (model card, `config.json`,
// safetensors headers), the weight files' names, and the layers' diff_ids; then the recipe's own
// `image.modelpack` fields over it. Only fields the spec names are written.
import { Annotation } from '../oci/media-types.js'
import type { ModelPackConfig, ModelPackDescriptor, ModelPackModelConfig } from './config-schema.js'
import { kindOf } from './file-kinds.js'
import type { CardFacts, ContentFacts, ModelConfigFacts } from './model-facts.js'

export interface ConfigInputs {
  /** The manifest annotations of the run (sources', transforms'). */
  annotations: Readonly<Record<string, string>>
  /** Every file of the artifact, with what its bytes said (when a probe read them). */
  files: readonly { target: string; size: number; facts?: ContentFacts | undefined }[]
  /** Layer diff_ids, in the manifest's layer order. */
  diffIds: string[]
  /** RFC 3339, from SOURCE_DATE_EPOCH. */
  created?: string | undefined
  /** The recipe's `image.modelpack` fields. */
  overrides?: { descriptor?: ModelPackDescriptor | undefined; config?: ModelPackModelConfig | undefined }
}

/** The Hub source's annotations: the repository and the revision asked for. */
const HF_REPO = 'modelcar.hf.repo'
const HF_REVISION = 'modelcar.hf.revision'
const OCI = {
  version: 'org.opencontainers.image.version',
  licenses: 'org.opencontainers.image.licenses',
  authors: 'org.opencontainers.image.authors',
  vendor: 'org.opencontainers.image.vendor',
  description: 'org.opencontainers.image.description',
  documentation: 'org.opencontainers.image.documentation',
  url: 'org.opencontainers.image.url',
} as const

export function modelPackConfig(inputs: ConfigInputs): ModelPackConfig {
  const card = factsOf(inputs.files, 'card')
  const modelConfig = factsOf(inputs.files, 'modelConfig')
  const descriptor = { ...describe(inputs, card, modelConfig), ...inputs.overrides?.descriptor }
  const computed = technical(inputs.files, card, modelConfig)
  const override = inputs.overrides?.config
  const config: ModelPackModelConfig = { ...computed, ...override }
  if (computed.capabilities || override?.capabilities) config.capabilities = { ...computed.capabilities, ...override?.capabilities }
  return { descriptor: clean(descriptor), config: clean(config), modelfs: { type: 'layers', diffIds: inputs.diffIds } }
}

function describe(inputs: ConfigInputs, card: CardFacts | undefined, model: ModelConfigFacts | undefined): ModelPackDescriptor {
  const a = inputs.annotations
  const given = (key: string) => (a[key]?.trim() ? a[key].trim() : undefined)
  const asked = given(HF_REVISION)
  return {
    createdAt: inputs.created,
    authors: given(OCI.authors) ? [given(OCI.authors)!] : card?.authors,
    vendor: given(OCI.vendor) ?? card?.vendor,
    family: model?.family,
    name: given(HF_REPO),
    version: given(OCI.version) ?? (asked && !/^[0-9a-f]{40}$/.test(asked) ? asked : undefined),
    title: given(Annotation.title),
    description: given(OCI.description),
    docURL: given(OCI.documentation) ?? given(OCI.url),
    sourceURL: given(Annotation.source),
    datasetsURL: card?.datasets,
    revision: given(Annotation.revision),
    licenses: given(OCI.licenses) ? [given(OCI.licenses)!] : card?.licenses,
  }
}

function technical(files: ConfigInputs['files'], card: CardFacts | undefined, model: ModelConfigFacts | undefined): ModelPackModelConfig {
  const tensors = safetensorsParameters(files)
  return {
    architecture: model?.architecture,
    format: formatOf(files),
    paramSize: tensors ? paramSize(Object.values(tensors).reduce((a, b) => a + b, 0)) : undefined,
    precision: (tensors && precisionOf(tensors)) || precisionName(model?.dtype),
    quantization: model?.quantization,
    ...(card?.languages ? { capabilities: { languages: card.languages } } : {}),
  }
}

/** The first file's facts of that sort (one model card, one root `config.json`). */
function factsOf<K extends 'card' | 'modelConfig'>(
  files: ConfigInputs['files'],
  key: K,
): (K extends 'card' ? CardFacts : ModelConfigFacts) | undefined {
  for (const f of files) if (f.facts && key in f.facts) return (f.facts as unknown as Record<K, never>)[key]
  return undefined
}

/** Parameters by dtype over every safetensors file; undefined unless every one of them was read. */
function safetensorsParameters(files: ConfigInputs['files']): Record<string, number> | undefined {
  const shards = files.filter((f) => /\.safetensors$/i.test(f.target))
  if (shards.length === 0) return undefined
  const total: Record<string, number> = {}
  for (const f of shards) {
    if (!f.facts || !('safetensors' in f.facts)) return undefined
    for (const [dtype, n] of Object.entries(f.facts.safetensors.parameters)) total[dtype] = (total[dtype] ?? 0) + n
  }
  return total
}

const FORMAT_OF_EXT: Readonly<Record<string, string>> = {
  safetensors: 'safetensors',
  gguf: 'gguf',
  onnx: 'onnx',
  onnx_data: 'onnx',
  bin: 'pt',
  pt: 'pt',
  pth: 'pt',
  tflite: 'tflite',
  h5: 'keras',
  keras: 'keras',
}

/** The format of the weight files holding the most bytes. */
function formatOf(files: ConfigInputs['files']): string | undefined {
  const bytes = new Map<string, number>()
  for (const f of files) {
    if (kindOf(f.target).kind !== 'weight') continue
    const format = FORMAT_OF_EXT[f.target.split('.').pop()!.toLowerCase()]
    if (format) bytes.set(format, (bytes.get(format) ?? 0) + f.size)
  }
  return [...bytes].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0]
}

/** `<count><scale>` with at most one decimal: 8030261248 → `8B`, 6738415616 → `6.7B`, 98304 → `98.3K`. */
export function paramSize(parameters: number): string | undefined {
  if (!(parameters > 0)) return undefined
  const scales: [number, string][] = [
    [1e15, 'Q'],
    [1e12, 'T'],
    [1e9, 'B'],
    [1e6, 'M'],
  ]
  const [scale, letter] = scales.find(([s]) => parameters >= s) ?? [1e3, 'K']
  return `${Number((parameters / scale).toFixed(1))}${letter}`
}

/** The spec's names of safetensors dtypes. */
const PRECISION_OF_DTYPE: Readonly<Record<string, string>> = {
  F64: 'float64',
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  F8_E4M3: 'float8_e4m3',
  F8_E5M2: 'float8_e5m2',
  I8: 'int8',
  I16: 'int16',
  I32: 'int32',
  I64: 'int64',
  U8: 'uint8',
  U16: 'uint16',
  U32: 'uint32',
  U64: 'uint64',
  BOOL: 'bool',
}
const PRECISIONS = new Set(Object.values(PRECISION_OF_DTYPE))

/** The dtypes, most parameters first, as the spec names them; dtypes it has no name for are left out. */
function precisionOf(parameters: Record<string, number>): string | undefined {
  const named = Object.entries(parameters)
    .filter(([dtype, n]) => n > 0 && PRECISION_OF_DTYPE[dtype])
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([dtype]) => PRECISION_OF_DTYPE[dtype]!)
  return named.length ? [...new Set(named)].join(',') : undefined
}

/** `torch_dtype` as the spec names precisions (`bfloat16`, `float16`…); anything else says nothing. */
function precisionName(dtype: string | undefined): string | undefined {
  const name = dtype?.replace(/^torch\./, '')
  return name && PRECISIONS.has(name) ? name : undefined
}

/** The object without its undefined fields: JSON would drop them, and the digest must not depend on it. */
function clean<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T
}
