// The ModelPack config modelcar fills in: what the files say (safetensors headers, config.json,
// the model card's front matter), the source's provenance, the recipe's overrides; never a field
// the spec does not name. And the layer kinds by file name.
import { describe, expect, it } from 'vitest'
import { kindOf, layerKindOf } from './file-kinds.js'
import { layerMediaType } from './media-types.js'
import { cardFacts, modelConfigFacts, probeFor, type ContentFacts } from './model-facts.js'
import { modelPackConfig, paramSize } from './modelpack-config.js'
import { spdxLicense } from './spdx.js'

/** A safetensors file: the 8-byte little-endian header length, the JSON header, then the data. */
function safetensors(tensors: Record<string, { dtype: string; shape: number[] }>, dataBytes = 16): Buffer {
  let offset = 0
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } }
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { ...t, data_offsets: [offset, offset + 2] }
    offset += 2
  }
  const json = Buffer.from(JSON.stringify(header))
  const len = Buffer.alloc(8)
  len.writeBigUInt64LE(BigInt(json.length))
  return Buffer.concat([len, json, Buffer.alloc(dataBytes, 1)])
}

/** What a probe reads of `bytes`, fed as they would stream. */
function probe(target: string, bytes: Buffer, modelcard = false): ContentFacts | undefined {
  const p = probeFor(target, bytes.length, modelcard)!
  let head: Uint8Array = new Uint8Array(0)
  while (p.wants(head) > head.byteLength) head = bytes.subarray(0, p.wants(head))
  return p.wants(head) === 0 ? undefined : p.read(head)
}

const SPEC_DESCRIPTOR = [
  'createdAt',
  'authors',
  'family',
  'name',
  'docURL',
  'sourceURL',
  'datasetsURL',
  'version',
  'revision',
  'vendor',
  'licenses',
  'title',
  'description',
]
const SPEC_CONFIG = ['architecture', 'format', 'paramSize', 'precision', 'quantization', 'capabilities']

describe('what model files say', () => {
  it('a safetensors header: parameters by dtype, read from the first 8 + N bytes only', () => {
    const bytes = safetensors({
      a: { dtype: 'BF16', shape: [1000, 2000] },
      b: { dtype: 'BF16', shape: [3000] },
      c: { dtype: 'F32', shape: [10] },
    })
    const p = probeFor('model-00001-of-00002.safetensors', bytes.length, false)!
    expect(p.wants(new Uint8Array(0))).toBe(8)
    const n = Number(bytes.readBigUInt64LE(0))
    expect(p.wants(bytes.subarray(0, 8))).toBe(8 + n)
    expect(p.read(bytes.subarray(0, 8 + n))).toEqual({ safetensors: { parameters: { BF16: 2_003_000, F32: 10 } } })
  })

  it('a header longer than the file, or absurdly long, is not read', () => {
    const len = Buffer.alloc(8)
    len.writeBigUInt64LE(1n << 40n)
    expect(probeFor('x.safetensors', 100, false)!.wants(len)).toBe(0)
  })

  it('config.json: architecture, family, dtype, quantization method', () => {
    const json = {
      architectures: ['LlamaForCausalLM'],
      model_type: 'llama',
      torch_dtype: 'bfloat16',
      quantization_config: { quant_method: 'gptq' },
    }
    expect(probe('config.json', Buffer.from(JSON.stringify(json)))).toEqual({
      modelConfig: { architecture: 'LlamaForCausalLM', family: 'llama', dtype: 'bfloat16', quantization: 'gptq' },
    })
    expect(modelConfigFacts(Buffer.from('not json'))).toBeUndefined()
    expect(probeFor('sub/config.json', 10, false)).toBeUndefined()
  })

  it('the model card’s front matter: licences as SPDX, ISO 639-1 languages, authors, vendor, datasets', () => {
    const card = [
      '---',
      'license: apache-2.0',
      'language: [en, fr, multilingual]',
      'authors: [Ada, Grace]',
      'model_creator: Acme Labs',
      'datasets: [acme/corpus]',
      '---',
      '# A model',
    ].join('\n')
    expect(probe('README.md', Buffer.from(card))).toEqual({
      card: {
        licenses: ['Apache-2.0'],
        languages: ['en', 'fr'],
        authors: ['Ada', 'Grace'],
        vendor: 'Acme Labs',
        datasets: ['acme/corpus'],
      },
    })
    expect(cardFacts(Buffer.from('---\nlicense: other\nlicense_name: acme research\n---\n'))).toEqual({
      card: { licenses: ['LicenseRef-acme-research'] },
    })
    expect(cardFacts(Buffer.from('# no front matter\n'))).toEqual({ card: {} })
    expect(cardFacts(Buffer.from('---\n: [broken\n---\n'))).toEqual({ card: {} })
  })

  it('SPDX: known identifiers by their SPDX name, GNU ones as -only, the rest as LicenseRef-', () => {
    expect(spdxLicense('mit')).toBe('MIT')
    expect(spdxLicense('cc-by-nc-4.0')).toBe('CC-BY-NC-4.0')
    expect(spdxLicense('gpl-3.0')).toBe('GPL-3.0-only')
    expect(spdxLicense('llama3.1')).toBe('LicenseRef-llama3.1')
    expect(spdxLicense('unknown')).toBeUndefined()
    expect(spdxLicense('other')).toBeUndefined()
  })
})

describe('layer kinds', () => {
  it('sorts files as the spec does, and says when a name was a guess', () => {
    const kinds = Object.fromEntries(
      [
        'model-00001-of-00002.safetensors',
        'model.safetensors.index.json',
        'config.json',
        'tokenizer.model',
        'merges.txt',
        'README.md',
        'LICENSE',
        'notes.txt',
        'modeling_acme.py',
        'train.parquet',
        'weights.gguf',
        'mystery.xyz',
      ].map((p) => [p, kindOf(p)]),
    )
    expect(kinds).toMatchObject({
      'model-00001-of-00002.safetensors': { kind: 'weight', tested: true },
      'model.safetensors.index.json': { kind: 'weight.config', tested: true },
      'config.json': { kind: 'weight.config', tested: true },
      'tokenizer.model': { kind: 'weight.config', tested: true },
      'merges.txt': { kind: 'weight.config', tested: true },
      'README.md': { kind: 'doc', tested: true },
      LICENSE: { kind: 'doc', tested: true },
      'notes.txt': { kind: 'doc', tested: true },
      'modeling_acme.py': { kind: 'code', tested: true },
      'train.parquet': { kind: 'dataset', tested: true },
      'weights.gguf': { kind: 'weight', tested: true },
      'mystery.xyz': { kind: 'weight', tested: false },
    })
    expect(layerKindOf(['config.json', 'README.md'])).toEqual({ kind: 'weight.config', tested: false })
    expect(layerKindOf(['config.json', 'tokenizer.json'])).toEqual({ kind: 'weight.config', tested: true })
    expect(layerMediaType('weight.config', 'gzip')).toBe('application/vnd.cncf.model.weight.config.v1.tar+gzip')
    expect(layerMediaType('weight', 'raw')).toBe('application/vnd.cncf.model.weight.v1.raw')
  })
})

describe('modelPackConfig', () => {
  const files: { target: string; size: number; facts?: ContentFacts }[] = [
    { target: 'README.md', size: 10, facts: { card: { licenses: ['Apache-2.0'], languages: ['en'] } } },
    { target: 'config.json', size: 10, facts: { modelConfig: { architecture: 'LlamaForCausalLM', family: 'llama', dtype: 'float16' } } },
    { target: 'model-1.safetensors', size: 5000, facts: { safetensors: { parameters: { BF16: 6_000_000_000, F32: 700_000_000 } } } },
    { target: 'model-2.safetensors', size: 5000, facts: { safetensors: { parameters: { BF16: 38_000_000 } } } },
    { target: 'pytorch_model.bin', size: 9000 },
  ]
  const annotations = {
    'org.opencontainers.image.source': 'https://huggingface.co/acme/tiny',
    'org.opencontainers.image.revision': 'a'.repeat(40),
    'modelcar.hf.repo': 'acme/tiny',
    'modelcar.hf.revision': 'v1.2',
  }

  it('fills the descriptor and config from what modelcar knows, and only with the spec’s fields', () => {
    const c = modelPackConfig({ annotations, files, diffIds: ['sha256:1', 'sha256:2'], created: '2024-01-02T03:04:05Z' })
    expect(c).toEqual({
      descriptor: {
        createdAt: '2024-01-02T03:04:05Z',
        family: 'llama',
        name: 'acme/tiny',
        version: 'v1.2',
        sourceURL: 'https://huggingface.co/acme/tiny',
        revision: 'a'.repeat(40),
        licenses: ['Apache-2.0'],
      },
      config: {
        architecture: 'LlamaForCausalLM',
        format: 'safetensors',
        paramSize: '6.7B',
        precision: 'bfloat16,float32',
        capabilities: { languages: ['en'] },
      },
      modelfs: { type: 'layers', diffIds: ['sha256:1', 'sha256:2'] },
    })
    for (const k of Object.keys(c.descriptor)) expect(SPEC_DESCRIPTOR).toContain(k)
    for (const k of Object.keys(c.config)) expect(SPEC_CONFIG).toContain(k)
  })

  it('counts parameters only when every safetensors header was read; torch_dtype is the precision then; a commit is no version', () => {
    const partial = files.map((f) => (f.target === 'model-2.safetensors' ? { target: f.target, size: f.size } : f))
    const c = modelPackConfig({
      annotations: { ...annotations, 'modelcar.hf.revision': 'b'.repeat(40) },
      files: partial,
      diffIds: ['sha256:1'],
    })
    expect(c.config.paramSize).toBeUndefined()
    expect(c.config.precision).toBe('float16')
    expect(c.descriptor.version).toBeUndefined()
    expect(c.descriptor.createdAt).toBeUndefined()
  })

  it('OCI annotations a recipe set win over the card; the recipe’s own fields win over everything', () => {
    const c = modelPackConfig({
      annotations: { ...annotations, 'org.opencontainers.image.licenses': 'MIT OR Apache-2.0', 'org.opencontainers.image.vendor': 'Acme' },
      files,
      diffIds: ['sha256:1'],
      overrides: {
        descriptor: { name: 'tiny', licenses: ['BSD-3-Clause'] },
        config: { paramSize: '7B', capabilities: { reasoning: true } },
      },
    })
    expect(c.descriptor).toMatchObject({ name: 'tiny', vendor: 'Acme', licenses: ['BSD-3-Clause'] })
    expect(c.config).toMatchObject({ paramSize: '7B', capabilities: { languages: ['en'], reasoning: true } })
  })

  it('writes parameter counts as the spec’s count and scale', () => {
    expect([8_030_261_248, 6_738_415_616, 1e12, 100e6, 98_304, 512].map(paramSize)).toEqual(['8B', '6.7B', '1T', '100M', '98.3K', '0.5K'])
    expect(paramSize(0)).toBeUndefined()
  })
})
