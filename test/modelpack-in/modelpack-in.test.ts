// Model artifacts in, Modelcars out (issue 13, source `oci`): ModelPack artifacts (raw layers; tar,
// tar+gzip and tar+zstd layers; the older `cnai` spelling), Docker model artifacts (annotated, and
// the older unannotated shards) and a KitOps ModelKit, built by tools/model-artifacts from the
// specs, become Modelcars on the busybox fixture whose files umoci unpacks byte-exact under
// /models, and so do the ModelPack artifacts modelcar itself writes. One ModelPack artifact is
// pushed to docker-registry by skopeo and read from there (its tar headers by ranged GETs, not its
// files), and podman runs `ls -la /models` in the Modelcar made of it; reads the network cuts
// resume (through the fault proxy). A container image given as the source is refused (exit 2),
// named as one.
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildFixtures, type FixturePaths } from '../../tools/fixtures/build-fixtures.mjs'
import { startFaultProxy } from '../../tools/fault-proxy/fault-proxy.mjs'
import { startRegistry, type Registry } from '../../tools/harness/registry.js'
import { tempDir, type TempDir } from '../../tools/harness/temp.js'
import { CommandFailedError, podmanRun, run, umociUnpack } from '../../tools/harness/tools.js'
import {
  buildDockerModel,
  buildModelKit,
  buildModelPack,
  modelFiles,
  pushLayout,
  type ArtifactFile,
  type BuiltArtifact,
} from '../../tools/model-artifacts/build-model-artifacts.mjs'
import { nodeBinary } from '../../tools/node-lines/node-lines.mjs'
import {
  assertCliBuilt,
  CLI_BIN,
  cliEnv,
  expectModelTree,
  modelcar,
  mustModelcar,
  printedDigest,
  readIndex,
  sha256,
  tagged,
  writeModel,
  type Model,
} from '../e2e/support.js'

const SLOW = 300_000
const MiB = 1 << 20
let tmp: TempDir
let fixtures: FixturePaths
let registry: Registry
const files = modelFiles({ weightBytes: 4 * MiB })
const artifacts: Record<string, BuiltArtifact> = {}

beforeAll(async () => {
  await assertCliBuilt()
  tmp = await tempDir('mc-modelpack-in')
  fixtures = await buildFixtures(join(tmp.path, 'fixtures'))
  const at = (name: string) => join(tmp.path, 'artifacts', name)
  artifacts['ModelPack, raw layers'] = await buildModelPack(at('raw'), files, { layers: 'raw' })
  artifacts['ModelPack, tar layers'] = await buildModelPack(at('tar'), files)
  artifacts['ModelPack, tar+gzip layers'] = await buildModelPack(at('gzip'), files, { compression: 'gzip' })
  artifacts['ModelPack, tar+zstd layers'] = await buildModelPack(at('zstd'), files, { compression: 'zstd' })
  artifacts['ModelPack, cnai spelling'] = await buildModelPack(at('cnai'), files, { spelling: 'cnai' })
  artifacts['Docker model'] = await buildDockerModel(at('docker'), { weightBytes: 2 * MiB })
  artifacts['Docker model, unannotated (v0.1)'] = await buildDockerModel(at('docker-v01'), { annotated: false })
  artifacts['KitOps ModelKit'] = await buildModelKit(at('kit'))
  registry = await startRegistry()
}, SLOW)

afterAll(async () => {
  await registry?.stop()
  await tmp?.cleanup()
})

const env = () => cliEnv({ REGISTRY_AUTH_FILE: join(tmp.path, 'none.json'), HOME: join(tmp.path, 'home') })

/** The files as expectModelTree checks them under /models. */
function modelOf(artifactFiles: ArtifactFile[]): Model {
  const dirs = new Set<string>()
  for (const f of artifactFiles) {
    const parts = f.path.split('/').slice(0, -1)
    parts.forEach((_, i) => dirs.add(parts.slice(0, i + 1).join('/')))
  }
  return {
    root: '',
    files: artifactFiles.map((f) => ({ path: f.path, digest: sha256(f.bytes), size: f.bytes.length, mode: f.mode })),
    addArgs: [],
    dirs: [...dirs].sort(),
  }
}

async function writeRecipe(dir: string, ref: string, sinks: string): Promise<string> {
  await mkdir(dir, { recursive: true })
  const recipe = join(dir, 'recipe.yaml')
  await writeFile(
    recipe,
    `apiVersion: modelcar/v1\nbase: oci-layout:${fixtures.single}:latest\nsources:\n  - type: oci\n    ref: ${ref}\nsinks:\n${sinks}`,
  )
  return recipe
}

const layoutSink = '  - type: oci-layout\n    path: ./out\n    tag: latest\n'

describe('model artifacts become Modelcars', () => {
  it.each([
    'ModelPack, raw layers',
    'ModelPack, tar layers',
    'ModelPack, tar+gzip layers',
    'ModelPack, tar+zstd layers',
    'ModelPack, cnai spelling',
    'Docker model',
    'Docker model, unannotated (v0.1)',
    'KitOps ModelKit',
  ])(
    '%s: its files byte-exact under /models (umoci)',
    async (name) => {
      const artifact = artifacts[name]!
      const dir = join(tmp.path, 'runs', name.replace(/[^a-z0-9]+/gi, '-'))
      const recipe = await writeRecipe(dir, artifact.ref, layoutSink)
      // zstd needs Node.js 22.15 or newer: that run uses the oldest line in support, whatever runs the tests.
      const result = name.includes('zstd')
        ? await run(nodeBinary(22), [CLI_BIN, 'run', recipe], { env: env() })
        : await mustModelcar(['run', recipe], { env: env() })
      if (result.code !== 0) throw new CommandFailedError(`modelcar run ${recipe}`, result)
      const digest = printedDigest(result)
      expect(tagged(await readIndex(join(dir, 'out'))).digest).toBe(digest)
      const rootfs = await umociUnpack(`${join(dir, 'out')}:latest`, join(dir, 'bundle'))
      await expectModelTree(rootfs, modelOf(artifact.files))
    },
    SLOW,
  )

  it.each([
    ['beside a Modelcar on the multi-arch base, on its gzip tar blobs', 'formats: [modelcar, modelpack]\n  compression: gzip\n', true],
    ['alone, raw layers', 'formats: [modelpack]\n  modelpack:\n    layers: raw\n', false],
  ])(
    'reads back the ModelPack artifact modelcar writes (%s)',
    async (_, image, onBase) => {
      const dir = join(tmp.path, 'runs', `round-trip-${onBase ? 'combined' : 'raw'}`)
      const model = await writeModel(join(dir, 'model'))
      await writeFile(
        join(dir, 'out.yaml'),
        `apiVersion: modelcar/v1\n${onBase ? `base: oci-layout:${fixtures.multiarch}:latest\n` : ''}sources:\n  - type: local\n    path: ./model\nimage:\n  ${image}sinks:\n  - type: oci-layout\n    path: ./artifact\n`,
      )
      await mustModelcar(['run', join(dir, 'out.yaml')], { env: env() })
      const recipe = await writeRecipe(join(dir, 'in'), `oci-layout:${join(dir, 'artifact')}`, layoutSink)
      await mustModelcar(['run', recipe], { env: env() })
      await expectModelTree(await umociUnpack(`${join(dir, 'in', 'out')}:latest`, join(dir, 'bundle')), model)
    },
    SLOW,
  )

  it(
    'runs again without reading the artifact: every layer is found by what it was made from',
    async () => {
      const dir = join(tmp.path, 'runs', 'again')
      const recipe = await writeRecipe(dir, artifacts['ModelPack, tar layers']!.ref, layoutSink)
      const first = printedDigest(await mustModelcar(['run', recipe], { env: env() }))
      // A fresh record: the layers are found in the image the sink holds, by their annotations.
      const again = await mustModelcar(['run', recipe], {
        env: cliEnv({ MODELCAR_CACHE_DIR: join(dir, 'fresh-cache'), HOME: join(tmp.path, 'home') }),
      })
      expect(printedDigest(again)).toBe(first)
      expect(again.stderr).toMatch(new RegExp(`${files.length} layers reused, not read`))
    },
    SLOW,
  )

  it(
    'reads a ModelPack artifact from a registry (tar headers by ranged GETs), pushes the Modelcar, and podman runs it',
    async () => {
      const artifact = artifacts['ModelPack, tar layers']!
      await pushLayout(`${artifact.layout}:latest`, `${registry.host}/artifacts/tiny:v1`)
      const raw = artifacts['ModelPack, raw layers']!
      await pushLayout(`${raw.layout}:latest`, `${registry.host}/artifacts/tiny-raw:v1`)
      const dir = join(tmp.path, 'runs', 'registry')
      const target = `${registry.host}/modelcars/tiny:v1`
      const logFrom = registry.logs().length
      const dry = await mustModelcar(
        ['run', '--dry-run', await writeRecipe(dir, `registry:${registry.host}/artifacts/tiny:v1`, layoutSink)],
        { env: env() },
      )
      expect(dry.stdout + dry.stderr).toContain('model.safetensors')
      // Listing the 4 MiB weights' tar layer asked for its headers, not its file.
      const weights = artifact.manifest.layers[0]!
      const gets = blobGets(registry.logs().slice(logFrom), weights.digest)
      expect(gets.statuses.length, 'GETs of the weights layer').toBeGreaterThan(0)
      expect(new Set(gets.statuses), 'ranged answers only').toEqual(new Set([206]))
      expect(gets.bytes, 'bytes of the weights layer the registry sent for the listing').toBeLessThan(weights.size / 8)

      const recipe = await writeRecipe(
        dir,
        `registry:${registry.host}/artifacts/tiny:v1`,
        `${layoutSink}  - type: registry\n    ref: ${target}\n`,
      )
      const digest = printedDigest(await mustModelcar(['run', recipe], { env: env() }))
      const rootfs = await umociUnpack(`${join(dir, 'out')}:latest`, join(dir, 'bundle'))
      await expectModelTree(rootfs, modelOf(artifact.files))
      const listing = await podmanRun(target, 'ls -la /models')
      for (const name of ['model.safetensors', 'config.json', 'README.md', 'tokenizer', 'scripts']) expect(listing).toContain(name)
      expect(listing).toMatch(new RegExp(`\\s${4 * MiB}\\s.*model\\.safetensors`))
      expect(digest).toMatch(/^sha256:/)

      // Raw layers from the registry: each file is its layer, checked against its digest.
      const rawDir = join(tmp.path, 'runs', 'registry-raw')
      await mustModelcar(['run', await writeRecipe(rawDir, `registry:${registry.host}/artifacts/tiny-raw:v1`, layoutSink)], { env: env() })
      await expectModelTree(await umociUnpack(`${join(rawDir, 'out')}:latest`, join(rawDir, 'bundle')), modelOf(raw.files))
    },
    SLOW,
  )

  it(
    'resumes reads the network cut: a raw layer from the byte it reached, a tar layer by a new pass over it',
    async () => {
      const tarWeights = artifacts['ModelPack, tar layers']!.manifest.layers[0]!
      const rawWeights = artifacts['ModelPack, raw layers']!.manifest.layers[0]!
      await pushLayout(`${artifacts['ModelPack, tar layers']!.layout}:latest`, `${registry.host}/artifacts/cut:tar`)
      await pushLayout(`${artifacts['ModelPack, raw layers']!.layout}:latest`, `${registry.host}/artifacts/cut:raw`)
      const proxy = await startFaultProxy({
        target: registry.url,
        rules: [
          {
            method: 'GET',
            path: new RegExp(`/blobs/(${tarWeights.digest}|${rawWeights.digest})$`),
            timesPerPath: 1,
            cut: { afterBytes: MiB },
          },
        ],
      })
      try {
        for (const [tag, artifact] of [
          ['tar', artifacts['ModelPack, tar layers']!],
          ['raw', artifacts['ModelPack, raw layers']!],
        ] as const) {
          const dir = join(tmp.path, 'runs', `cut-${tag}`)
          const host = new URL(proxy.url).host
          await mustModelcar(['run', await writeRecipe(dir, `registry:${host}/artifacts/cut:${tag}`, layoutSink)], { env: env() })
          await expectModelTree(await umociUnpack(`${join(dir, 'out')}:latest`, join(dir, 'bundle')), modelOf(artifact.files))
        }
        const gets = (digest: string) => proxy.requests.filter((r) => r.method === 'GET' && r.path.endsWith(digest))
        const tarGets = gets(tarWeights.digest)
        expect(
          tarGets.filter((r) => r.cut),
          'cut reads of the tar layer',
        ).toHaveLength(1)
        // The listing's header reads, the cut pass, and a whole new pass: a tar's bytes are checked from its first.
        expect(tarGets.filter((r) => !r.cut && r.range === `bytes=0-${tarWeights.size - 1}` && r.bytes === tarWeights.size)).toHaveLength(1)
        const rawGets = gets(rawWeights.digest)
        expect(rawGets[0]!.cut).toBe(true)
        const resumedAt = Number(/^bytes=(\d+)-/.exec(rawGets[1]!.range ?? '')?.[1])
        expect(resumedAt, 'the raw layer resumed where it was cut').toBeGreaterThan(0)
        expect(rawGets[1]!.bytes).toBe(rawWeights.size - resumedAt)
      } finally {
        await proxy.stop()
      }
    },
    SLOW,
  )

  it(
    'refuses a container image as the source (exit 2), saying what it is',
    async () => {
      const dir = join(tmp.path, 'runs', 'not-a-model')
      const recipe = await writeRecipe(dir, `oci-layout:${fixtures.single}:latest`, layoutSink)
      const r = await modelcar(['run', recipe], { env: env() })
      expect(r.code, r.stderr).toBe(2)
      expect(r.stderr).toMatch(
        /\[oci\] list failed: `oci-layout:.*busybox-single:latest` is a container image \(linux\/amd64\), not a model artifact/,
      )
      expect(r.stderr).toMatch(/base:/)
    },
    SLOW,
  )
})

/** The GETs of one blob in the registry's log (since it was at that length): how many, with which statuses, and the bytes sent. */
function blobGets(log: string, digest: string): { statuses: number[]; bytes: number } {
  const out = { statuses: [] as number[], bytes: 0 }
  for (const line of log.split('\n')) {
    if (!line.includes('msg="response completed"') || !line.includes('http.request.method=GET') || !line.includes(`/blobs/${digest}`))
      continue
    out.statuses.push(Number(/http\.response\.status=(\d+)/.exec(line)?.[1]))
    out.bytes += Number(/http\.response\.written=(\d+)/.exec(line)?.[1] ?? NaN)
  }
  return out
}
