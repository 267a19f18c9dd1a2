// A catalogue of six Hub models mirrored by three shard processes started at the same moment into
// one docker-registry: every model lands once, byte-exact, the Hub emulator serves each model's
// bytes once in all, and the three summaries name every model once. Then every shard again (with
// its record, and as a fresh Kubernetes pod would, with none and its index from
// JOB_COMPLETION_INDEX): no model byte moves, nothing is uploaded, every tag keeps its digest.
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHubEmulator, writeRepo, type HubEmulator } from '../../tools/hub-emulator/hub-emulator.mjs'
import { startRegistry, type Registry } from '../../tools/harness/registry.js'
import { tempDir, type TempDir } from '../../tools/harness/temp.js'
import type { RunResult } from '../../tools/harness/tools.js'
import { assertCliBuilt, modelcar, NODE_WARNING } from '../e2e/support.js'
import {
  blobUploads,
  catalogEnv,
  eventsOf,
  expectPulledModel,
  hubModel,
  manifestPuts,
  registryRepositories,
  registryTags,
  servedByRepo,
  summaryOf,
  writeCatalog,
  type HubModel,
} from './support.js'

const NAMES = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot']
const SHARDS = 3

let tmp: TempDir
let hub: HubEmulator
let registry: Registry
let catalog: string
const models: HubModel[] = NAMES.map((name) => hubModel(name))
const env = (extra: Record<string, string> = {}) => catalogEnv(join(tmp.path, 'home'), hub.url, extra)
const cacheDir = (name: string) => join(tmp.path, 'cache', name)

beforeAll(async () => {
  await assertCliBuilt()
  tmp = await tempDir('mc-catalog-shards')
  for (const m of models) await writeRepo(join(tmp.path, 'hub'), m.repo, { files: m.files })
  hub = await startHubEmulator({ root: join(tmp.path, 'hub') })
  registry = await startRegistry()
  catalog = await writeCatalog(
    tmp.path,
    'catalog.yaml',
    [
      'apiVersion: modelcar/v1',
      'kind: Catalog',
      'template:',
      '  base: scratch',
      '  sinks:',
      '    - type: registry',
      `      ref: "${registry.host}/fleet/{name}:{revision}"`,
      'models:',
      ...models.map((m) => `  - source: { type: hf, repo: ${m.repo} }`),
      '',
    ].join('\n'),
  )
})

afterAll(async () => {
  await hub?.stop()
  await registry?.stop()
  await tmp?.cleanup()
})

/** Runs the three shards at once; each result with the shard it ran. */
async function allShards(args: (i: number) => { args: string[]; env: NodeJS.ProcessEnv }): Promise<RunResult[]> {
  const results = await Promise.all(
    Array.from({ length: SHARDS }, (_, i) => {
      const run = args(i)
      return modelcar(['mirror', catalog, ...run.args], { env: run.env })
    }),
  )
  for (const [i, r] of results.entries()) {
    expect(r.code, `shard ${i}/${SHARDS}:\n${r.stdout}\n--- stderr ---\n${r.stderr}`).toBe(0)
    expect(r.stderr, `stderr of shard ${i}`).not.toMatch(NODE_WARNING)
  }
  return results
}

/** The first mirror, once for the file: the tests after it rely on what it left. */
let first: Promise<{ digests: Record<string, string> }> | undefined
function firstMirror(): Promise<{ digests: Record<string, string> }> {
  first ??= (async () => {
    const from = hub.requests.length
    const started = performance.now()
    const results = await allShards((i) => ({ args: ['--shard', `${i}/${SHARDS}`, '--cache-dir', cacheDir(`first-${i}`)], env: env() }))
    const seconds = (performance.now() - started) / 1000

    // The three summaries together name every model once, and each shard says which it was.
    const summaries = results.map(summaryOf)
    const named = summaries.flatMap((s) => s.rows.map((r) => r.model))
    expect(named.sort()).toEqual([...NAMES].sort())
    for (const [i, s] of summaries.entries()) {
      expect(s.rows.map((r) => r.state)).toEqual(['ok', 'ok'])
      expect(s.total).toBe(`2 of 2 models mirrored (shard ${i}/${SHARDS})`)
      // Dealt by position: shard i has the models at i and i + 3.
      expect(s.rows.map((r) => r.model)).toEqual([NAMES[i], NAMES[i + SHARDS]])
    }

    // The Hub emulator served each model's bytes once, no more (within a percent).
    const served = servedByRepo(hub, from)
    expect(Object.keys(served).sort(), 'repos the emulator served file bytes of').toEqual(models.map((m) => m.repo).sort())
    for (const m of models) {
      expect(served[m.repo], `bytes of ${m.repo} served`).toBeGreaterThanOrEqual(m.bytes)
      expect(served[m.repo], `bytes of ${m.repo} served`).toBeLessThanOrEqual(m.bytes * 1.01)
    }
    const total = Object.values(served).reduce((n, b) => n + b, 0)
    const modelBytes = models.reduce((n, m) => n + m.bytes, 0)
    console.info(
      `catalogue of ${models.length} models, ${SHARDS} shards at once: ${seconds.toFixed(1)} s; the Hub served ${total} B for ${modelBytes} B of model files`,
    )
    const digests = Object.fromEntries(summaries.flatMap((s) => s.rows.map((r) => [r.model, r.rest])))
    return { digests }
  })()
  return first
}

describe('modelcar mirror: a catalogue in three shards at once', () => {
  it('puts every model in the registry once, byte-exact, having read each from the Hub once', async () => {
    const { digests } = await firstMirror()
    expect(await registryRepositories(registry)).toEqual(NAMES.map((n) => `fleet/${n}`).sort())
    for (const m of models) {
      const repo = `fleet/${m.name}`
      expect(await registryTags(registry, repo), `tags of ${repo}`).toEqual(['main'])
      const image = await expectPulledModel(registry, repo, 'main', m, join(tmp.path, 'pulled', m.name))
      expect(image.digest, `${repo}:main is the digest the summary printed`).toBe(digests[m.name])
      // Each blob (layers and config) uploaded once: no two processes, nor one twice, wrote it.
      const uploads = blobUploads(registry, 0, repo)
      const blobs = [...(image.manifest.layers ?? []).map((l) => l.digest), image.manifest.config!.digest]
      expect(uploads, `blob uploads into ${repo}`).toEqual(Object.fromEntries(blobs.map((d) => [d, 1])))
      expect(manifestPuts(registry, 0, repo), `manifests written into ${repo}`).toBe(1)
    }
  })

  it('run again, with the record and as fresh pods without one (JOB_COMPLETION_INDEX), moves no model byte and writes nothing', async () => {
    const { digests } = await firstMirror()
    const rerun = async (label: string, args: (i: number) => { args: string[]; env: NodeJS.ProcessEnv }) => {
      const from = hub.requests.length
      const logFrom = registry.logs().length
      const results = await allShards(args)
      const events = results.flatMap(eventsOf)
      const done = events.filter((e) => e.type === 'model-done')
      expect(done.map((e) => e.model).sort(), `models done (${label})`).toEqual([...NAMES].sort())
      for (const e of done) {
        expect(e.ok, `${e.model} (${label})`).toBe(true)
        expect(e.digest, `${e.model}'s digest (${label})`).toBe(digests[e.model!])
      }
      const layers = events.filter((e) => e.type === 'layer-done')
      expect(layers.length, `layers done (${label})`).toBe(models.length * 5)
      expect(
        layers.filter((e) => !e.skipped),
        `layers read (${label})`,
      ).toEqual([])
      const summaries = events.filter((e) => e.type === 'summary')
      expect(summaries.map((e) => e.shard).sort()).toEqual(['shard 0/3', 'shard 1/3', 'shard 2/3'])
      expect(summaries.flatMap((e) => e.failed)).toEqual([])

      expect(servedByRepo(hub, from), `model bytes the Hub served (${label})`).toEqual({})
      for (const m of models) {
        expect(blobUploads(registry, logFrom, `fleet/${m.name}`), `blob uploads into fleet/${m.name} (${label})`).toEqual({})
        expect(manifestPuts(registry, logFrom, `fleet/${m.name}`), `manifests written into fleet/${m.name} (${label})`).toBe(0)
      }
      console.info(`catalogue re-run (${label}): ${hub.requests.length - from} requests to the Hub, 0 B of model files`)
    }

    await rerun('with the record', (i) => ({
      args: ['--shard', `${i}/${SHARDS}`, '--cache-dir', cacheDir(`first-${i}`), '--json'],
      env: env(),
    }))
    // What an Indexed Job's pods run: `--shards N`, the index from Kubernetes, a fresh disk.
    await rerun('fresh pods', (i) => ({
      args: ['--shards', String(SHARDS), '--cache-dir', cacheDir(`pod-${i}`), '--json'],
      env: env({ JOB_COMPLETION_INDEX: String(i) }),
    }))
    for (const m of models) expect(await registryTags(registry, `fleet/${m.name}`)).toEqual(['main'])
  })
})
