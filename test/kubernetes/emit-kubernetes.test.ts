// `modelcar mirror CATALOG --emit kubernetes` end to end: the printed manifests validate against the
// Kubernetes schemas, and the Job's pod — its command and environment exactly, its ConfigMap and
// emptyDirs as folders — run here as pod 1 of 3 (JOB_COMPLETION_INDEX=1, as Kubernetes sets it)
// against the Hub emulator and docker-registry mirrors shard 1, and only shard 1, byte-exact.
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHubEmulator, writeRepo, type HubEmulator } from '../../tools/hub-emulator/hub-emulator.mjs'
import { startRegistry, type Registry } from '../../tools/harness/registry.js'
import { tempDir, type TempDir } from '../../tools/harness/temp.js'
import { run } from '../../tools/harness/tools.js'
import { expectPulledModel, hubModel, registryTags, writeCatalog, type HubModel } from '../catalog/support.js'
import { assertCliBuilt, CLI_BIN, cliEnv, modelcar, NODE_WARNING } from '../e2e/support.js'
import { hostPathOf, hubCatalog, IMAGE_BIN, manifestsOf, only, podOf, validateObject, type KubeObject } from './support.js'

const NAMES = ['alpha', 'bravo', 'charlie', 'delta', 'echo']
const SHARDS = 3
const POD = 1

let tmp: TempDir
let hub: HubEmulator
let registry: Registry
let catalog: string
const models: HubModel[] = NAMES.map((name) => hubModel(name, 1))

beforeAll(async () => {
  await assertCliBuilt()
  tmp = await tempDir('mc-kube-emit')
  for (const m of models) await writeRepo(join(tmp.path, 'hub'), m.repo, { files: m.files })
  hub = await startHubEmulator({ root: join(tmp.path, 'hub') })
  registry = await startRegistry()
  catalog = await writeCatalog(
    join(tmp.path, 'catalogs'),
    'fleet.yaml',
    hubCatalog(
      hub.url,
      registry.host,
      models.map((m) => m.repo),
    ),
  )
})

afterAll(async () => {
  await hub?.stop()
  await registry?.stop()
  await tmp?.cleanup()
})

/** The CLI's own environment here: no token, no registry login, no index of the machine's. */
function emitEnv(): NodeJS.ProcessEnv {
  const env = cliEnv()
  for (const name of ['HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN', 'HF_ENDPOINT', 'JOB_COMPLETION_INDEX', 'REGISTRY_AUTH_FILE']) delete env[name]
  return env
}

const emit = (extra: string[]) =>
  modelcar(['mirror', catalog, '--emit', 'kubernetes', '--shards', String(SHARDS), '--image', 'quay.io/acme/modelcar:0.1.0', ...extra], {
    env: emitEnv(),
  })

describe('modelcar mirror --emit kubernetes', () => {
  it('prints a ConfigMap and an Indexed Job that validate against the Kubernetes schemas', async () => {
    const objects = manifestsOf(await emit(['--namespace', 'models']))
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}/${o.metadata.namespace}`)).toEqual([
      'ConfigMap/modelcar-fleet/models',
      'Job/modelcar-fleet/models',
    ])
    const job = only(objects, 'Job')
    expect(job.spec).toMatchObject({ completionMode: 'Indexed', completions: SHARDS, parallelism: SHARDS })
    expect(job.spec!.backoffLimitPerIndex).toBeGreaterThan(0)
    // The validation is a real one: what the API server's schema refuses, it refuses.
    const broken = structuredClone(objects[1]!) as KubeObject & { spec: { parallelism: unknown } }
    broken.spec.parallelism = 'all'
    expect(() => validateObject(broken)).toThrow(/parallelism must be integer/)
  })

  it('with --schedule prints a CronJob (concurrencyPolicy Forbid) with the same Job template', async () => {
    const job = only(manifestsOf(await emit([])), 'Job')
    const objects = manifestsOf(await emit(['--schedule', '0 3 * * *']))
    expect(objects.map((o) => o.kind)).toEqual(['ConfigMap', 'CronJob'])
    const cron = only(objects, 'CronJob')
    expect(cron.spec).toMatchObject({ schedule: '0 3 * * *', concurrencyPolicy: 'Forbid' })
    expect(JSON.parse(JSON.stringify(cron.spec!.jobTemplate.spec))).toEqual(JSON.parse(JSON.stringify(job.spec)))
  })

  it(`the Job's pod ${POD} of ${SHARDS}, run here with its command and environment, mirrors its shard and nothing else`, async () => {
    const objects = manifestsOf(await emit([]))
    const pod = await podOf(only(objects, 'Job'), only(objects, 'ConfigMap'), POD, join(tmp.path, 'pod'))
    const [node, bin, ...args] = pod.container.command!
    expect([node, bin]).toEqual(['node', IMAGE_BIN])
    // This machine's node and the built CLI stand for the image's; every path in the pod goes to its folder here.
    const result = await run(process.execPath, [CLI_BIN, ...args.map((a) => hostPathOf(pod, a))], {
      env: Object.fromEntries(Object.entries(pod.env).map(([k, v]) => [k, hostPathOf(pod, v)])),
    })
    expect(result.code, `the pod's mirror:\n${result.stdout}\n--- stderr ---\n${result.stderr}`).toBe(0)
    expect(result.stderr).not.toMatch(NODE_WARNING)
    // Shards are dealt by position: pod I takes models I, I+N, I+2N, …
    const mine = models.filter((_, i) => i % SHARDS === POD)
    expect(mine.map((m) => m.name)).toEqual(['bravo', 'echo'])
    for (const m of models) {
      const tags = await registryTags(registry, `fleet/${m.name}`)
      expect(tags, `tags of fleet/${m.name}`).toEqual(mine.includes(m) ? ['main'] : [])
    }
    for (const m of mine) await expectPulledModel(registry, `fleet/${m.name}`, 'main', m, join(tmp.path, 'pulled', m.name))
    // The pod wrote its record in its emptyDir, nowhere else.
    expect(pod.env.MODELCAR_CACHE_DIR).toBe('/var/cache/modelcar')
    const record = await run('find', [hostPathOf(pod, '/var/cache/modelcar'), '-type', 'f'])
    expect(record.stdout.trim().split('\n').filter(Boolean).length).toBeGreaterThan(0)
  })
})
