// Which kind of ModelPack layer a file belongs in (weight, weight.config, doc, code, dataset), from
// its name: the spec sorts files by what they are for, and a reader may fetch only the weights and
// their configuration. A name no rule knows is taken as a weight and marked untested.
import type { LayerKind } from './media-types.js'

export interface FileKind {
  kind: LayerKind
  /** False when no rule knew the name: the kind is a guess (the layer says so in its annotations). */
  tested: boolean
}

const WEIGHT_EXT = /\.(safetensors|gguf|ggml|bin|pt|pth|ckpt|onnx|onnx_data|h5|keras|msgpack|tflite|pb|mlmodel|pdparams|npz|engine|plan)$/i
/** The tokenizer's and the weights' configuration: what a runtime reads beside the weights. */
const WEIGHT_CONFIG_NAME =
  /^(config|generation_config|tokenizer|tokenizer_config|special_tokens_map|added_tokens|preprocessor_config|processor_config|chat_template|adapter_config|quantize_config|quant_config|params)\.json$|^(vocab\.(json|txt)|merges\.txt|tokenizer\.model|spiece\.model|sentencepiece\.bpe\.model|.*\.tiktoken)$/i
const WEIGHT_CONFIG_EXT = /\.(json|jinja|yaml|yml|model)$/i
const DOC_NAME =
  /^(readme|license|licence|notice|copying|use_policy|acceptable_use_policy|model_card|changelog|citation|sha256sums|checksums)(\.[a-z0-9]+)?$|^\.git(attributes|ignore)$/i
const DOC_EXT = /\.(md|markdown|txt|rst|pdf|html|png|jpe?g|gif|svg|webp)$/i
const CODE_EXT = /\.(py|ipynb|sh|js|mjs|ts|go|rs|c|cc|cpp|h|hpp|cu|java|scala|rb|r|jl|lua|swift)$/i
const DATASET_EXT = /\.(parquet|arrow|csv|tsv|jsonl|jsonl\.gz|avro|tfrecord|npy|feather)$/i

/** The kind of the file at `path` (a path under the model root). */
export function kindOf(path: string): FileKind {
  const name = path.split('/').pop() ?? path
  if (DOC_NAME.test(name)) return { kind: 'doc', tested: true }
  if (WEIGHT_CONFIG_NAME.test(name)) return { kind: 'weight.config', tested: true }
  if (WEIGHT_EXT.test(name)) return { kind: 'weight', tested: true }
  if (CODE_EXT.test(name)) return { kind: 'code', tested: true }
  if (DATASET_EXT.test(name)) return { kind: 'dataset', tested: true }
  if (WEIGHT_CONFIG_EXT.test(name)) return { kind: 'weight.config', tested: true }
  if (DOC_EXT.test(name)) return { kind: 'doc', tested: true }
  return { kind: 'weight', tested: false }
}

/** Most important first: a layer of several files takes the kind of its most important one. */
const PRECEDENCE: readonly LayerKind[] = ['weight', 'weight.config', 'code', 'dataset', 'doc']

/**
 * The kind of a layer holding `paths`: their common kind, tested when every file's was; files of
 * several kinds (a grouped layer) give the most important kind, untested.
 */
export function layerKindOf(paths: readonly string[]): FileKind {
  const kinds = paths.map(kindOf)
  const distinct = new Set(kinds.map((k) => k.kind))
  const kind = PRECEDENCE.find((k) => distinct.has(k)) ?? 'weight'
  return { kind, tested: distinct.size === 1 && kinds.every((k) => k.tested) }
}
