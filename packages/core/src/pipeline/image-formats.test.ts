// image.formats through the engine: the ModelPack manifest beside the Modelcar in one index,
// sharing its layers, its config filled from bytes seen while they streamed (each file opened
// once); the artifact alone with raw layers; what a re-run reads (nothing with the record); the
// sink's second tag; and the recipe mistakes the formats rule out.
import { createHash } from 'node:crypto'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Type } from '@sinclair/typebox'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createCoreRegistry } from '../builtins.js'
import { defineSource } from '../contract/component.js'
import type { RunEvent } from '../contract/events.js'
import { ModelcarError } from '../errors/index.js'
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest } from '../oci/types.js'
import { parseRecipe } from '../recipe/load-recipe.js'
import { runRecipe } from './run-recipe.js'

let dir: string
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mc-formats-'))
})
afterEach(() => fs.rm(dir, { recursive: true, force: true }))

function safetensors(tensors: Record<string, { dtype: string; shape: number[] }>): Buffer {
  const header = Object.fromEntries(Object.entries(tensors).map(([n, t], i) => [n, { ...t, data_offsets: [i * 4, i * 4 + 4] }]))
  const json = Buffer.from(JSON.stringify(header))
  const len = Buffer.alloc(8)
  len.writeBigUInt64LE(BigInt(json.length))
  return Buffer.concat([len, json, Buffer.alloc(4096, 3)])
}

const FILES: Record<string, Buffer> = {
  'README.md': Buffer.from('---\nlicense: mit\nlanguage: en\n---\n# tiny\n'),
  'config.json': Buffer.from(JSON.stringify({ architectures: ['TinyForCausalLM'], model_type: 'tiny', torch_dtype: 'float16' })),
  'model.safetensors': safetensors({ embed: { dtype: 'F16', shape: [1000, 64] }, head: { dtype: 'F32', shape: [64] } }),
  'tokenizer.json': Buffer.from('{"vocab":{}}'),
  'modeling_tiny.py': Buffer.from('print("tiny")\n'),
}
const sha = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`
const opens: string[] = []

/** The files above, named by digest (as the Hub names LFS files), by identity (its small files) or by nothing; every open() counted. */
const counting = defineSource({
  type: 'counting',
  description: 'test source',
  schema: Type.Object({ naming: Type.String({ description: 'digest | identity | none' }) }),
  create: (config) => ({
    async *list() {
      for (const [name, bytes] of Object.entries(FILES))
        yield {
          path: name,
          size: bytes.length,
          ...(config.naming === 'digest' ? { digest: sha(bytes) } : {}),
          ...(config.naming === 'identity' ? { identity: `test:${sha(bytes).slice(7, 23)}` } : {}),
          open: async ({ start = 0 } = {}) => {
            opens.push(name)
            return [bytes.subarray(start)]
          },
        }
    },
    annotations: () => ({ 'org.opencontainers.image.source': 'https://example.com/acme/tiny', 'modelcar.hf.repo': 'acme/tiny' }),
  }),
})

async function run(image: string, opts: { naming?: string; sink?: string; cacheDir?: string; head?: string } = {}) {
  const text =
    `apiVersion: modelcar/v1\n${opts.head ?? ''}sources:\n  - type: counting\n    naming: ${opts.naming ?? 'digest'}\n` +
    `image:\n${image}sinks:\n  - type: oci-layout\n    path: ./out\n${opts.sink ?? ''}`
  const recipe = await parseRecipe(text, path.join(dir, 'r.yaml'), { registry: createCoreRegistry().register(counting) })
  opens.length = 0
  const events: RunEvent[] = []
  const result = await runRecipe(recipe, { ...(opts.cacheDir ? { cacheDir: opts.cacheDir } : {}), onEvent: (e) => events.push(e), env: {} })
  return { digest: result.digest!, opened: [...opens].sort(), events }
}

const json = async <T>(digest: string): Promise<T> =>
  JSON.parse(await fs.readFile(path.join(dir, 'out/blobs/sha256', digest.slice(7)), 'utf8')) as T
const indexJson = async () => JSON.parse(await fs.readFile(path.join(dir, 'out/index.json'), 'utf8')) as ImageIndex

/** The root index's entries: the runnable manifests and the ModelPack one. */
async function parts(root: string) {
  const index = await json<ImageIndex>(root)
  const modelpack = index.manifests.filter((m) => m.platform?.os === 'unknown')
  const runnable = index.manifests.filter((m) => m.platform?.os !== 'unknown')
  return { index, modelpack, runnable }
}

describe('image.formats: [modelcar, modelpack]', () => {
  it('puts a ModelPack manifest in the index, on the Modelcar’s own layer blobs, its config from bytes that streamed once', async () => {
    const { digest, opened } = await run('  formats: [modelcar, modelpack]\n', { head: 'platforms: [linux/amd64, linux/arm64]\n' })
    expect(opened).toEqual(Object.keys(FILES).sort())
    const { index, modelpack, runnable } = await parts(digest)
    expect(index.manifests).toHaveLength(3)
    expect(modelpack).toHaveLength(1)
    expect(modelpack[0]).toEqual({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: modelpack[0]!.digest,
      size: modelpack[0]!.size,
      platform: { architecture: 'unknown', os: 'unknown' },
    })
    const mp = await json<ImageManifest>(modelpack[0]!.digest)
    const car = await json<ImageManifest>(runnable[0]!.digest)
    expect(mp.artifactType).toBe('application/vnd.cncf.model.manifest.v1+json')
    expect(mp.config.mediaType).toBe('application/vnd.cncf.model.config.v1+json')
    expect(mp.layers.map((l) => [l.digest, l.size])).toEqual(car.layers.map((l) => [l.digest, l.size]))
    const byPath: Record<string, Descriptor> = Object.fromEntries(mp.layers.map((l) => [l.annotations!['org.cncf.model.filepath'], l]))
    expect(Object.fromEntries(Object.entries(byPath).map(([p, l]) => [p, l.mediaType.replace('application/vnd.cncf.model.', '')]))).toEqual(
      {
        'README.md': 'doc.v1.tar',
        'config.json': 'weight.config.v1.tar',
        'model.safetensors': 'weight.v1.tar',
        'tokenizer.json': 'weight.config.v1.tar',
        'modeling_tiny.py': 'code.v1.tar',
      },
    )
    const weight = byPath['model.safetensors']!
    expect(Object.keys(weight.annotations!).sort()).toEqual([
      'org.cncf.model.file.mediatype.untested',
      'org.cncf.model.file.metadata+json',
      'org.cncf.model.filepath',
    ])
    expect(JSON.parse(weight.annotations!['org.cncf.model.file.metadata+json']!)).toEqual({
      name: 'model.safetensors',
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: FILES['model.safetensors']!.length,
      mtime: '1970-01-01T00:00:00Z',
      typeflag: 48,
    })
    expect(weight.annotations!['org.cncf.model.file.mediatype.untested']).toBe('false')
    const config = await json<Record<string, Record<string, unknown>>>(mp.config.digest)
    const carConfig = await json<ImageConfig>(car.config.digest)
    expect(config).toEqual({
      descriptor: { family: 'tiny', name: 'acme/tiny', sourceURL: 'https://example.com/acme/tiny', licenses: ['MIT'] },
      config: {
        architecture: 'TinyForCausalLM',
        format: 'safetensors',
        paramSize: '64.1K',
        precision: 'float16,float32',
        capabilities: { languages: ['en'] },
      },
      modelfs: { type: 'layers', diffIds: carConfig.rootfs!.diff_ids },
    })
  })

  it('wraps a single-platform image in an index; a re-run reads nothing with the record, and only the probed files’ starts without it', async () => {
    const cacheDir = path.join(dir, 'cache')
    const first = await run('  formats: [modelcar, modelpack]\n', { cacheDir })
    const { runnable, modelpack } = await parts(first.digest)
    expect(runnable).toEqual([expect.objectContaining({ platform: { architecture: 'amd64', os: 'linux' } })])
    expect(modelpack).toHaveLength(1)
    const again = await run('  formats: [modelcar, modelpack]\n', { cacheDir })
    expect(again.opened).toEqual([])
    expect(again.digest).toBe(first.digest)
    // No record: the layers are found in the layout, but what the files said is read again.
    const fresh = await run('  formats: [modelcar, modelpack]\n')
    expect(fresh.opened).toEqual(['README.md', 'config.json', 'model.safetensors'])
    expect(fresh.digest).toBe(first.digest)
    expect(fresh.events.some((e) => e.type === 'log' && /reading the start of `model\.safetensors`/.test(e.message))).toBe(true)
    expect((await indexJson()).manifests).toHaveLength(1)
  })

  it('on its own output as the base (a layout changed in place), keeps one ModelPack manifest: the same one, or the new one in place of the old', async () => {
    await run('  formats: [modelcar, modelpack]\n')
    const again = await run('  formats: [modelcar, modelpack]\n', { head: 'base: oci-layout:./out\n' })
    expect(again.events.filter((e) => e.type === 'warning')).toEqual([])
    const before = (await parts(again.digest)).modelpack
    expect(before).toHaveLength(1)
    const changed = await run('  formats: [modelcar, modelpack]\n  modelpack:\n    descriptor:\n      version: "2"\n', {
      head: 'base: oci-layout:./out\n',
    })
    const after = (await parts(changed.digest)).modelpack
    expect(after).toHaveLength(1)
    expect(after[0]!.digest).not.toBe(before[0]!.digest)
    expect(changed.events).toContainEqual(expect.objectContaining({ type: 'warning', message: expect.stringContaining(before[0]!.digest) }))
  })

  it('gives the ModelPack manifest a tag of its own in the layout (modelpackTag), and refuses one when there is no ModelPack', async () => {
    const { digest } = await run('  formats: [modelcar, modelpack]\n', { sink: '    modelpackTag: latest-modelpack\n' })
    const entries = (await indexJson()).manifests
    expect(entries.map((e) => e.annotations?.['org.opencontainers.image.ref.name'])).toEqual(['latest', 'latest-modelpack'])
    expect(entries[1]!.digest).toBe((await parts(digest)).modelpack[0]!.digest)
    const err = await run('  formats: [modelcar]\n', { sink: '    modelpackTag: mp\n' }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ModelcarError)
    expect((err as ModelcarError).message).toMatch(/`modelpackTag` is set, but the image has no ModelPack manifest/)
    expect((await indexJson()).manifests).toHaveLength(2)
  })
})

describe('image.formats: [modelpack]', () => {
  it('with raw layers: only the artifact, each file a blob of its own bytes, and a file with a known sha256 is not read again', async () => {
    const image = '  formats: [modelpack]\n  modelpack:\n    layers: raw\n    descriptor:\n      version: "1.0"\n'
    const first = await run(image)
    const entry = (await indexJson()).manifests[0]!
    expect(entry.digest).toBe(first.digest)
    const mp = await json<ImageManifest>(first.digest)
    expect(mp.artifactType).toBe('application/vnd.cncf.model.manifest.v1+json')
    const weight = mp.layers.find((l) => l.annotations?.['org.cncf.model.filepath'] === 'model.safetensors')!
    expect(weight.mediaType).toBe('application/vnd.cncf.model.weight.v1.raw')
    expect(weight.digest).toBe(sha(FILES['model.safetensors']!))
    expect(mp.layers.map((l) => l.digest).sort()).toEqual(Object.values(FILES).map(sha).sort())
    const config = await json<{ descriptor: Record<string, unknown>; modelfs: { diffIds: string[] } }>(mp.config.digest)
    expect(config.descriptor.version).toBe('1.0')
    expect(config.modelfs.diffIds).toEqual(mp.layers.map((l) => l.digest))
    // Every file's sha256 is known and the layout holds each: only the probed files' starts are read.
    const again = await run(image)
    expect(again.digest).toBe(first.digest)
    expect(again.opened).toEqual(['README.md', 'config.json', 'model.safetensors'])
  })

  it('with tar layers: the layers are the Modelcar’s encoding, and with the record a re-run reads nothing (files named by identity)', async () => {
    const cacheDir = path.join(dir, 'cache')
    const first = await run('  formats: [modelpack]\n', { naming: 'identity', cacheDir })
    const mp = await json<ImageManifest>(first.digest)
    expect(new Set(mp.layers.map((l) => l.mediaType.split('.v1.')[1]))).toEqual(new Set(['tar']))
    expect(mp.layers.every((l) => l.annotations?.['modelcar.layer.encoding']?.startsWith('tar;'))).toBe(true)
    const again = await run('  formats: [modelpack]\n', { naming: 'identity', cacheDir })
    expect(again).toMatchObject({ digest: first.digest, opened: [] })
  })
})

describe('recipe checks', () => {
  const problems = async (text: string) => {
    const err = await parseRecipe(
      `apiVersion: modelcar/v1\n${text}sources:\n  - type: local\n    path: .\nsinks:\n  - type: oci-layout\n    path: ./o\n`,
      path.join(dir, 'r.yaml'),
      {
        registry: createCoreRegistry(),
      },
    ).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ModelcarError)
    return (err as ModelcarError).diagnostics!.map((d) => `${d.location?.line}:${d.location?.col} ${d.message}`)
  }
  it('refuses a base or platforms for the artifact alone, raw layers beside a Modelcar, ModelPack fields without ModelPack', async () => {
    expect(await problems('base: oci-layout:./base\nimage:\n  formats: [modelpack]\n')).toEqual([
      '2:7 `base` does not apply to `image.formats: [modelpack]`: the ModelPack artifact alone goes on no base image',
    ])
    expect(await problems('platforms: [linux/arm64]\nimage:\n  formats: [modelpack]\n')).toEqual([
      '2:1 `platforms` does not apply to `image.formats: [modelpack]`: the artifact has no platform',
    ])
    expect(await problems('image:\n  formats: [modelcar, modelpack]\n  modelpack:\n    layers: raw\n')).toEqual([
      '5:13 `layers: raw` needs `image.formats: [modelpack]`: the Modelcar’s layers are tar, and raw copies beside them would store every file twice',
    ])
    expect(await problems('image:\n  modelpack:\n    layers: tar\n')).toEqual([
      '3:3 `image.modelpack` applies only when `image.formats` has `modelpack`',
    ])
    expect(
      await problems('image:\n  formats: [modelpack]\n  modelpack:\n    config:\n      paramSize: lots\n      colour: red\n'),
    ).toHaveLength(2)
  })
})
