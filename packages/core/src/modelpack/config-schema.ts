// The ModelPack config's `descriptor` and `config` objects (modelpack/model-spec `docs/config.md`),
// as TypeBox schemas: what a recipe's `image.modelpack` may set, checked field by field, so a
// config modelcar writes never holds a field the spec does not know.
import { Type, type Static } from '@sinclair/typebox'

/** RFC 3339 date-time (section 5.6), as the spec's `format: date-time`. */
const RFC3339 = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$'

const text = (description: string, example: string) => Type.String({ description, examples: [example] })
const texts = (description: string, example: string[]) => Type.Array(Type.String(), { description, examples: [example] })

export const ModelPackDescriptorSchema = Type.Object(
  {
    createdAt: Type.Optional(
      Type.String({
        description: 'When the model was created, RFC 3339. Default: from `SOURCE_DATE_EPOCH`, else left out.',
        pattern: RFC3339,
        examples: ['2025-01-01T00:00:00Z'],
      }),
    ),
    authors: Type.Optional(texts('Contacts of the people or organisations responsible for the model.', ['xyz@example.com'])),
    vendor: Type.Optional(text('The organisation distributing the model.', 'XYZ Corp.')),
    family: Type.Optional(text('Model family or lineage. Default: `model_type` of `config.json`.', 'llama3')),
    name: Type.Optional(
      Type.String({ description: 'Name of the model. Default: the Hub repository.', minLength: 1, examples: ['xyz-3-8B-Instruct'] }),
    ),
    version: Type.Optional(text('Version of the model. Default: the revision asked for, unless it is a commit.', '3.1')),
    title: Type.Optional(text('Human-readable title.', 'XYZ 3 8B Instruct')),
    description: Type.Optional(text('Human-readable description.', 'xyz is a large language model.')),
    docURL: Type.Optional(text('Where to read more about the model.', 'https://www.example.com/get-started/')),
    sourceURL: Type.Optional(text('Where the model comes from. Default: the source’s URL.', 'https://huggingface.co/xyz/xyz3')),
    datasetsURL: Type.Optional(
      texts('Datasets the model was trained on. Default: `datasets` of the model card.', ['https://www.example.com/datasets/']),
    ),
    revision: Type.Optional(text('Source control revision. Default: the commit the source resolved.', '1234567890')),
    licenses: Type.Optional(texts('SPDX license expressions. Default: `license` of the model card, as SPDX.', ['Apache-2.0'])),
  },
  { additionalProperties: false, description: 'General facts about the model (ModelPack `descriptor`).' },
)

const Modality = Type.Union(['text', 'image', 'audio', 'video', 'embedding', 'other'].map((m) => Type.Literal(m)))

export const ModelPackCapabilitiesSchema = Type.Object(
  {
    inputTypes: Type.Optional(Type.Array(Modality, { description: 'What the model takes.', examples: [['text']] })),
    outputTypes: Type.Optional(Type.Array(Modality, { description: 'What the model gives.', examples: [['text', 'image']] })),
    knowledgeCutoff: Type.Optional(
      Type.String({ description: 'Date of the training data, RFC 3339.', pattern: RFC3339, examples: ['2024-05-21T00:00:00Z'] }),
    ),
    reasoning: Type.Optional(Type.Boolean({ description: 'Whether the model can reason.', examples: [true] })),
    toolUsage: Type.Optional(Type.Boolean({ description: 'Whether the model can call tools.', examples: [false] })),
    reward: Type.Optional(Type.Boolean({ description: 'Whether the model is a reward model.', examples: [false] })),
    languages: Type.Optional(
      Type.Array(Type.String({ pattern: '^[a-z]{2}$' }), {
        description: 'ISO 639-1 codes of the languages it speaks. Default: `language` of the model card.',
        examples: [['en', 'zh']],
      }),
    ),
  },
  { additionalProperties: false, description: 'What the model can do.' },
)

export const ModelPackModelConfigSchema = Type.Object(
  {
    architecture: Type.Optional(text('Architecture. Default: `architectures[0]` of `config.json`.', 'transformer')),
    format: Type.Optional(
      text('Format of the weights. Default: from the weight files (`safetensors`, `gguf`, `onnx`, `pt`).', 'safetensors'),
    ),
    paramSize: Type.Optional(
      Type.String({
        description: 'Parameters, as a count and a scale letter (K, M, B, T, Q). Default: counted in the safetensors headers.',
        pattern: '^[0-9]+(\\.[0-9])?[KkMmBbTtQq]$',
        examples: ['8B', '6.7B'],
      }),
    ),
    precision: Type.Optional(
      text('Precision, several separated by commas. Default: the safetensors dtypes, else `torch_dtype`.', 'bfloat16'),
    ),
    quantization: Type.Optional(text('Quantization technique. Default: `quantization_config.quant_method` of `config.json`.', 'gptq')),
    capabilities: Type.Optional(ModelPackCapabilitiesSchema),
  },
  { additionalProperties: false, description: 'Technical facts about the model (ModelPack `config`).' },
)

export type ModelPackDescriptor = Static<typeof ModelPackDescriptorSchema>
export type ModelPackModelConfig = Static<typeof ModelPackModelConfigSchema>

/** The config document: `application/vnd.cncf.model.config.v1+json`. */
export interface ModelPackConfig {
  descriptor: ModelPackDescriptor
  config: ModelPackModelConfig
  modelfs: { type: 'layers'; diffIds: string[] }
}
