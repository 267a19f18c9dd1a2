// ModelPack out, end to end with real components: an `hf` recipe (the Hub emulator) on the
// multi-arch busybox base with `image.formats: [modelcar, modelpack]` gives one index — the
// runnable manifests and a ModelPack manifest (platform unknown/unknown) whose layers are the
// Modelcar's own blobs and whose config validates against a JSON Schema written here from the
// spec (model-config.schema.json, checked by ajv). skopeo pushes that index with its digests
// (`--multi-arch all --preserve-digests`) to docker-registry, and podman runs `/models` from it,
// byte-exact; the registry sink pushes it too, with the ModelPack manifest under a tag of its own;
// `modelcar inspect` shows both parts; a re-run reads nothing from the Hub and uploads nothing.
// `formats: [modelpack]` with `layers: raw` gives the artifact alone, each file a blob whose
// digest is its sha256 (the Hub's LFS oid, known before download).
import { randomBytes } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Ajv2020 } from 'ajv/dist/2020.js'
import ajvFormats from 'ajv-formats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildFixtures, type FixturePaths } from '../../tools/fixtures/build-fixtures.mjs'
import { startRegistry, type Registry } from '../../tools/harness/registry.js'
import { tempDir, type TempDir } from '../../tools/harness/temp.js'
import { podmanRun, skopeoCopyToRegistry, skopeoInspect, type Descriptor, type RawManifest } from '../../tools/harness/tools.js'
import { startHubEmulator, writeRepo, type HubEmulator } from '../../tools/hub-emulator/hub-emulator.mjs'
import {
  assertCliBuilt,
  MT,
  mustModelcar,
  platformImages,
  printedDigest,
  readIndex,
  readJsonBlob,
  sha256,
  tagged,
  walkLayout,
  type PlatformImage,
} from '../e2e/support.js'
import { hubDownloads, isolatedEnv, lfsPaths, registryUploads, writeRecipe } from '../incremental/support.js'

const SLOW = 300_000
const REPO = 'acme/tiny-llama'
const EPOCH = 1_700_000_000
const MANIFEST_ARTIFACT = 'application/vnd.cncf.model.manifest.v1+json'
const CONFIG_TYPE = 'application/vnd.cncf.model.config.v1+json'
const FILEPATH = 'org.cncf.model.filepath'
const UNKNOWN = { architecture: 'unknown', os: 'unknown' }

/** A safetensors file: the header's tensors (BF16 and F32) and exactly their bytes of data. */
function safetensors(): { bytes: Buffer; parameters: number } {
  const tensors = { 'model.embed.weight': { dtype: 'BF16', shape: [512, 64] }, 'model.norm.weight': { dtype: 'F32', shape: [64] } }
  let offset = 0
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } }
  for (const [name, t] of Object.entries(tensors)) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * (t.dtype === 'BF16' ? 2 : 4)
    header[name] = { ...t, data_offsets: [offset, offset + bytes] }
    offset += bytes
  }
  const json = Buffer.from(JSON.stringify(header))
  const len = Buffer.alloc(8)
  len.writeBigUInt64LE(BigInt(json.length))
  return { bytes: Buffer.concat([len, json, randomBytes(offset)]), parameters: 512 * 64 + 64 }
}

const weights = safetensors()
const FILES: Record<string, Buffer> = {
  'README.md': Buffer.from('---\nlicense: apache-2.0\nlanguage:\n  - en\n  - de\n---\n# Tiny llama\n\nA test model.\n'),
  'config.json': Buffer.from(JSON.stringify({ architectures: ['LlamaForCausalLM'], model_type: 'llama', torch_dtype: 'bfloat16' })),
  'generation_config.json': Buffer.from('{"do_sample":false}\n'),
  'model.safetensors': weights.bytes,
  'modeling_tiny.py': Buffer.from('# the model code\n'),
  'tokenizer/tokenizer.json': Buffer.from(JSON.stringify({ vocab: Array.from({ length: 300 }, (_, i) => `t${i}`) })),
}
/** The ModelPack layer type of each file, as the spec sorts files (the card is the gzip model card layer). */
const KINDS: Record<string, string> = {
  'README.md': 'doc.v1.tar+gzip',
  'config.json': 'weight.config.v1.tar',
  'generation_config.json': 'weight.config.v1.tar',
  'model.safetensors': 'weight.v1.tar',
  'modeling_tiny.py': 'code.v1.tar',
  'tokenizer/tokenizer.json': 'weight.config.v1.tar',
}

let tmp: TempDir
let fixtures: FixturePaths
let hub: HubEmulator
let registry: Registry
let commit: string
let lfs: Map<string, string>
let validate: (config: unknown) => boolean
let schemaErrors: () => unknown

beforeAll(async () => {
  await assertCliBuilt()
  tmp = await tempDir('mc-mp-out')
  fixtures = await buildFixtures(join(tmp.path, 'fixtures'))
  commit = await writeRepo(join(tmp.path, 'hub'), REPO, { files: FILES, refs: ['main', 'v1.0'] })
  hub = await startHubEmulator({ root: join(tmp.path, 'hub') })
  registry = await startRegistry()
  lfs = await lfsPaths(hub, REPO, commit)
  const ajv = new Ajv2020({ strict: true, allErrors: true })
  // ajv-formats is CommonJS: Node hands over module.exports, whose `default` is the plugin too.
  ajvFormats.default(ajv)
  const check = ajv.compile(JSON.parse(await readFile(join(import.meta.dirname, 'model-config.schema.json'), 'utf8')) as object)
  validate = (config) => check(config)
  schemaErrors = () => check.errors
}, SLOW)

afterAll(async () => {
  await hub?.stop()
  await registry?.stop()
  await tmp?.cleanup()
})

const env = () => ({ ...isolatedEnv(join(tmp.path, 'home')), SOURCE_DATE_EPOCH: String(EPOCH) })
const source = () => `  - type: hf\n    repo: ${REPO}\n    endpoint: ${hub.url}\n    revision: v1.0\n`

/** The runnable images and the ModelPack manifest of the layout's `latest`, through a walk that checks every blob. */
async function combined(layout: string) {
  const { descriptors } = await walkLayout(layout)
  const root = tagged(await readIndex(layout))
  const index = await readJsonBlob(layout, root.digest)
  const entries = index.manifests ?? []
  const mpEntry = entries.filter((e) => e.platform?.os === 'unknown')
  expect(mpEntry, 'ModelPack entries of the index').toHaveLength(1)
  const modelpack = await readJsonBlob(layout, mpEntry[0]!.digest)
  const images = await platformImages(layout, root)
  const config = JSON.parse((await readFile(join(layout, 'blobs', 'sha256', modelpack.config!.digest.slice(7)))).toString('utf8')) as {
    descriptor: Record<string, unknown>
    config: Record<string, unknown>
    modelfs: { type: string; diffIds: string[] }
  }
  return { root, index, entries, mpEntry: mpEntry[0]!, modelpack, images, config, descriptors }
}

/** The layers a platform image has beyond its base: the model's, as many as the ModelPack has. */
const newLayers = (img: PlatformImage, n: number): Descriptor[] => img.manifest.layers!.slice(-n)

let first: Promise<{ dir: string; file: string; digest: string; cache: string }> | undefined
function runCombined() {
  first ??= (async () => {
    const dir = join(tmp.path, 'combined')
    const file = await writeRecipe(dir, {
      base: `oci-layout:${fixtures.multiarch}:latest`,
      sources: `${source()}image:\n  formats: [modelcar, modelpack]\n`,
      sinks:
        '  - type: oci-layout\n    path: ./out\n    modelpackTag: latest-modelpack\n' +
        `  - type: registry\n    ref: ${registry.host}/direct/tiny:v1\n    modelpackTag: v1-modelpack\n`,
    })
    const cache = join(tmp.path, 'cache-combined')
    const digest = printedDigest(await mustModelcar(['run', file, '--cache-dir', cache], { env: env() }))
    return { dir, file, digest, cache }
  })()
  return first
}

describe('image.formats: [modelcar, modelpack] on the multi-arch busybox', () => {
  it(
    'gives one index: the runnable manifests and a ModelPack manifest on the same blobs, its config valid and filled from the model',
    async () => {
      const { dir, digest } = await runCombined()
      const out = join(dir, 'out')
      const c = await combined(out)
      expect(c.root.digest).toBe(digest)
      expect(c.images.map((i) => i.platform).sort()).toEqual(['linux/amd64', 'linux/arm64/v8'])
      expect(c.entries).toHaveLength(3)
      for (const e of c.entries) expect(e.artifactType, `index entry ${e.digest}`).toBeUndefined()
      expect(c.mpEntry).toMatchObject({ mediaType: MT.ociManifest, platform: UNKNOWN })
      expect(c.modelpack).toMatchObject({ mediaType: MT.ociManifest, artifactType: MANIFEST_ARTIFACT, config: { mediaType: CONFIG_TYPE } })

      // The ModelPack's layers are the Modelcar's blobs, in the same order, on every platform.
      const layers = c.modelpack.layers!
      expect(layers).toHaveLength(Object.keys(FILES).length)
      for (const img of c.images)
        expect(newLayers(img, layers.length).map((l) => [l.digest, l.size])).toEqual(layers.map((l) => [l.digest, l.size]))
      expect(
        Object.fromEntries(layers.map((l) => [l.annotations![FILEPATH], l.mediaType.replace('application/vnd.cncf.model.', '')])),
      ).toEqual(KINDS)
      for (const l of layers) {
        expect(l.annotations!['org.cncf.model.file.mediatype.untested']).toBe('false')
        const meta = JSON.parse(l.annotations!['org.cncf.model.file.metadata+json']!) as Record<string, unknown>
        expect(meta).toMatchObject({
          size: FILES[l.annotations![FILEPATH]!]!.length,
          mtime: new Date(EPOCH * 1000).toISOString().replace('.000Z', 'Z'),
        })
      }
      // Nothing stored beyond what the index reaches (no second copy of any file).
      const reachable = new Set(c.descriptors.map((d) => d.digest.slice(7)))
      expect((await readdir(join(out, 'blobs', 'sha256'))).sort()).toEqual([...reachable].sort())

      expect(validate(c.config), JSON.stringify(schemaErrors())).toBe(true)
      const amd64 = c.images.find((i) => i.platform === 'linux/amd64')!
      expect(c.config).toEqual({
        descriptor: {
          createdAt: new Date(EPOCH * 1000).toISOString().replace('.000Z', 'Z'),
          family: 'llama',
          name: REPO,
          version: 'v1.0',
          sourceURL: amd64.manifest.annotations!['org.opencontainers.image.source'],
          revision: commit,
          licenses: ['Apache-2.0'],
        },
        config: {
          architecture: 'LlamaForCausalLM',
          format: 'safetensors',
          paramSize: `${Number((weights.parameters / 1000).toFixed(1))}K`,
          precision: 'bfloat16,float32',
          capabilities: { languages: ['en', 'de'] },
        },
        modelfs: { type: 'layers', diffIds: amd64.config.rootfs.diff_ids.slice(-layers.length) },
      })
      // The bare manifest under a tag of its own.
      expect(tagged(await readIndex(out), 'latest-modelpack').digest).toBe(c.mpEntry.digest)
    },
    SLOW,
  )

  it(
    'skopeo pushes the index with its digests (--multi-arch all --preserve-digests), and podman runs /models from the registry, byte-exact',
    async () => {
      const { dir, digest } = await runCombined()
      const out = join(dir, 'out')
      const ref = `${registry.host}/skopeo/tiny:v1`
      await skopeoCopyToRegistry(`${out}:latest`, ref)
      expect(sha256((await skopeoInspect(`docker://${ref}`)).rawText)).toBe(digest)
      const { mpEntry, modelpack } = await combined(out)
      const res = await fetch(`${registry.url}/v2/skopeo/tiny/manifests/${mpEntry.digest}`, { headers: { Accept: MT.ociManifest } })
      expect(res.status).toBe(200)
      expect(((await res.json()) as RawManifest).layers).toEqual(modelpack.layers)

      const listing = await podmanRun(ref, 'ls -la /models && cd /models && find . -type f | sort | xargs sha256sum')
      expect(listing).toMatch(/model\.safetensors/)
      const sums = Object.fromEntries(
        listing
          .split('\n')
          .map((line) => /^([0-9a-f]{64})\s+\.\/(.+)$/.exec(line))
          .filter((m): m is RegExpExecArray => !!m)
          .map((m) => [m[2]!, `sha256:${m[1]}`]),
      )
      expect(sums).toEqual(Object.fromEntries(Object.entries(FILES).map(([p, b]) => [p, sha256(b)])))
    },
    SLOW,
  )

  it(
    'the registry sink pushed the same index, the ModelPack manifest under its own tag; a re-run reads nothing from the Hub and uploads nothing',
    async () => {
      const { dir, file, digest, cache } = await runCombined()
      const head = async (ref: string) =>
        (
          await fetch(`${registry.url}/v2/direct/tiny/manifests/${ref}`, {
            method: 'HEAD',
            headers: { Accept: `${MT.ociIndex}, ${MT.ociManifest}` },
          })
        ).headers.get('docker-content-digest')
      const { mpEntry } = await combined(join(dir, 'out'))
      expect(await head('v1')).toBe(digest)
      expect(await head('v1-modelpack')).toBe(mpEntry.digest)

      const from = hub.requests.length
      const logFrom = registry.logs().length
      const again = printedDigest(await mustModelcar(['run', file, '--cache-dir', cache], { env: env() }))
      expect(again).toBe(digest)
      expect(hubDownloads(hub, from, lfs).total).toBe(0)
      expect(registryUploads(registry, logFrom, 'direct/tiny')).toEqual([])
    },
    SLOW,
  )

  it(
    'modelcar inspect shows both parts: the platforms with their layers, and the ModelPack manifest with its config',
    async () => {
      const { dir } = await runCombined()
      const out = join(dir, 'out')
      const { config, mpEntry } = await combined(out)
      const text = (await mustModelcar(['inspect', `oci-layout:${out}:latest`], { env: env() })).stdout
      expect(text).toContain('linux/amd64')
      expect(text).toContain('linux/arm64/v8')
      expect(text).toContain(`ModelPack unknown/unknown  ${mpEntry.digest}`)
      expect(text).toContain(`descriptor name=${REPO}`)
      expect(text).toMatch(/config\s+format=safetensors/)
      expect(text).toMatch(/weight\.v1\.tar\s+model\.safetensors/)
      const json = JSON.parse(
        (await mustModelcar(['inspect', `oci-layout:${out}:latest`, '--json'], { env: env() })).stdout.trim().split('\n').at(-1)!,
      ) as {
        platforms: unknown[]
        modelpack: { digest: string; platform: string; config: { document: unknown }; layers: unknown[] }
      }
      expect(json.platforms).toHaveLength(2)
      expect(json.modelpack).toMatchObject({ digest: mpEntry.digest, platform: 'unknown/unknown', config: { document: config } })
      const bare = (await mustModelcar(['inspect', `oci-layout:${out}:latest-modelpack`], { env: env() })).stdout
      expect(bare).toContain(`ModelPack  ${mpEntry.digest}`)
      const pushed = (await mustModelcar(['inspect', `registry:${registry.host}/direct/tiny:v1`], { env: env() })).stdout
      expect(pushed).toContain(`ModelPack unknown/unknown  ${mpEntry.digest}`)
      expect(pushed).toContain(`descriptor revision=${commit}`)
    },
    SLOW,
  )
})

describe('image.formats: [modelpack] with raw layers', () => {
  it(
    'writes the artifact alone (to a layout and a registry), each file a blob of its own whose digest is its sha256 (the LFS oid for the weights)',
    async () => {
      const dir = join(tmp.path, 'raw')
      const file = await writeRecipe(dir, {
        sources: `${source()}image:\n  formats: [modelpack]\n  modelpack:\n    layers: raw\n    config:\n      capabilities:\n        inputTypes: [text]\n        outputTypes: [text]\n`,
        sinks: `  - type: oci-layout\n    path: ./out\n  - type: registry\n    ref: ${registry.host}/raw/tiny:v1\n`,
      })
      const digest = printedDigest(await mustModelcar(['run', file], { env: env() }))
      const pushed = await fetch(`${registry.url}/v2/raw/tiny/manifests/v1`, { headers: { Accept: MT.ociManifest } })
      expect([pushed.status, pushed.headers.get('docker-content-digest')]).toEqual([200, digest])
      const out = join(dir, 'out')
      const { descriptors } = await walkLayout(out)
      const root = tagged(await readIndex(out))
      expect(root).toMatchObject({ mediaType: MT.ociManifest, digest })
      const manifest = await readJsonBlob(out, digest)
      expect(manifest).toMatchObject({ artifactType: MANIFEST_ARTIFACT, config: { mediaType: CONFIG_TYPE } })
      const weight = manifest.layers!.find((l) => l.annotations?.[FILEPATH] === 'model.safetensors')!
      expect(weight.mediaType).toBe('application/vnd.cncf.model.weight.v1.raw')
      expect(weight.digest).toBe(sha256(FILES['model.safetensors']!))
      expect(lfs.get(weight.digest.slice(7))).toBe('model.safetensors')
      expect(Object.fromEntries(manifest.layers!.map((l) => [l.annotations![FILEPATH], l.digest]))).toEqual(
        Object.fromEntries(Object.entries(FILES).map(([p, b]) => [p, sha256(b)])),
      )
      // No tar anywhere: the layout holds the files, the config and the manifest.
      expect(new Set(descriptors.map((d) => d.digest)).size).toBe(Object.keys(FILES).length + 2)
      const config = await readJsonBlob<{ config: Record<string, unknown>; modelfs: { diffIds: string[] } }>(out, manifest.config!.digest)
      expect(validate(config), JSON.stringify(schemaErrors())).toBe(true)
      expect(config.config).toMatchObject({
        format: 'safetensors',
        capabilities: { inputTypes: ['text'], outputTypes: ['text'], languages: ['en', 'de'] },
      })
      expect(config.modelfs.diffIds).toEqual(manifest.layers!.map((l) => l.digest))
    },
    SLOW,
  )
})
