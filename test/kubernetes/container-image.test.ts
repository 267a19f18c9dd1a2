// The modelcar image, built by modelcar from examples/container: the packed CLI installed into a
// folder (install-modelcar.mjs), put by the example recipe on a Node.js base made here (this
// machine's node and the libraries ldd names) and pushed to docker-registry. Then podman runs it:
// `modelcar --version`, and the Job that `mirror --emit kubernetes` prints, as its pod 0 of 2 would
// run — the image, its command and environment, read-only root, user 1000, the memory limit —
// which mirrors its shard from the Hub emulator into the registry.
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHubEmulator, writeRepo, type HubEmulator } from '../../tools/hub-emulator/hub-emulator.mjs'
import { startRegistry, type Registry } from '../../tools/harness/registry.js'
import { tempDir, type TempDir } from '../../tools/harness/temp.js'
import { mustRun } from '../../tools/harness/tools.js'
import { expectPulledModel, hubModel, pullManifest, registryTags, writeCatalog, type HubModel } from '../catalog/support.js'
import { assertCliBuilt, cliEnv, mustModelcar, REPO_ROOT } from '../e2e/support.js'
import { NODE_BASE_TAG, nodeBaseLayout } from './node-base.js'
import { podmanRunArgv } from './podman-pod.js'
import { hubCatalog, IMAGE_BIN, manifestsOf, only, podOf } from './support.js'

const EXAMPLE = join(REPO_ROOT, 'examples', 'container')
const NAMES = ['kilo', 'lima', 'mike']
const SHARDS = 2
const POD = 0

let tmp: TempDir
let hub: HubEmulator
let registry: Registry
let image: string
const models: HubModel[] = NAMES.map((name) => hubModel(name, 2))

beforeAll(async () => {
  await assertCliBuilt()
  tmp = await tempDir('mc-kube-image')
  for (const m of models) await writeRepo(join(tmp.path, 'hub'), m.repo, { files: m.files })
  hub = await startHubEmulator({ root: join(tmp.path, 'hub') })
  registry = await startRegistry()
  const base = await nodeBaseLayout(join(tmp.path, 'base'))
  await mustRun(process.execPath, [join(EXAMPLE, 'install-modelcar.mjs'), '--out', join(tmp.path, 'install')], { timeoutMs: 280_000 })
  image = `${registry.host}/modelcar:test`
  // The example recipe as it is; only the base (node:24-slim is not reachable here) and where the install went differ.
  await mustModelcar(
    [
      'run',
      join(EXAMPLE, 'recipe.yaml'),
      '--set',
      `base=oci-layout:${base}:${NODE_BASE_TAG}`,
      '--set',
      `sources.0.path=${join(tmp.path, 'install', 'app')}`,
    ],
    { env: cliEnv({ MODELCAR_IMAGE: image }), timeoutMs: 280_000 },
  )
}, 600_000)

afterAll(async () => {
  await hub?.stop()
  await registry?.stop()
  await tmp?.cleanup()
})

describe('the modelcar image (examples/container)', () => {
  it('is the base layer and one gzip layer with the CLI and its dependencies under /opt/modelcar, no .bin links', async () => {
    const { manifest } = await pullManifest(registry, 'modelcar', 'test')
    expect(manifest.annotations?.['org.opencontainers.image.title']).toBe('modelcar')
    const [baseLayer, app, ...more] = manifest.layers!
    expect(more).toEqual([])
    expect(baseLayer!.mediaType).toBe('application/vnd.oci.image.layer.v1.tar')
    expect(app!.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip')
    const res = await fetch(`${registry.url}/v2/modelcar/blobs/${app!.digest}`)
    expect(res.status).toBe(200)
    const tarball = join(tmp.path, 'app-layer.tar.gz')
    await writeFile(tarball, Buffer.from(await res.arrayBuffer()))
    const paths = (await mustRun('tar', ['-tzf', tarball])).stdout.split('\n').map((p) => p.replace(/^\.?\//, ''))
    for (const pkg of ['cli', 'core', 'registry', 'sink-registry', 'source-hf', 'source-s3'])
      expect(paths, `@modelcar/${pkg} in the image`).toContain(`opt/modelcar/node_modules/@modelcar/${pkg}/package.json`)
    expect(paths).toContain(IMAGE_BIN.slice(1))
    expect(paths.filter((p) => p.includes('node_modules/.bin/'))).toEqual([])
  })

  it('runs `modelcar --version` with podman', async () => {
    const version = (JSON.parse(await readFile(join(REPO_ROOT, 'packages', 'cli', 'package.json'), 'utf8')) as { version: string }).version
    const result = await podmanRunArgv(image, ['node', IMAGE_BIN, '--version'], { user: '1000:1000', readOnly: true })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout.trim()).toBe(version)
  })

  it(`runs the emitted Job's pod ${POD} of ${SHARDS} in podman: its shard lands in the registry`, async () => {
    const catalog = await writeCatalog(
      join(tmp.path, 'catalogs'),
      'nightly.yaml',
      hubCatalog(
        hub.url,
        registry.host,
        models.map((m) => m.repo),
      ),
    )
    const objects = manifestsOf(
      await mustModelcar(
        ['mirror', catalog, '--emit', 'kubernetes', '--shards', String(SHARDS), '--image', image, '--schedule', '@daily'],
        {
          env: cliEnv(),
        },
      ),
    )
    const cron = only(objects, 'CronJob')
    const pod = await podOf(cron.spec!.jobTemplate as never, only(objects, 'ConfigMap'), POD, join(tmp.path, 'pod'))
    const c = pod.container
    expect(c.image).toBe(image)
    const result = await podmanRunArgv(c.image!, c.command!, {
      env: pod.env,
      mounts: pod.mounts,
      user: `${pod.spec.securityContext!.runAsUser}:${pod.spec.securityContext!.runAsGroup}`,
      readOnly: c.securityContext!.readOnlyRootFilesystem === true,
      memory: String(c.resources!.limits!.memory).replace(/Mi$/, 'm'),
    })
    expect(result.code, `the pod:\n${result.stdout}\n--- stderr ---\n${result.stderr}`).toBe(0)
    const mine = models.filter((_, i) => i % SHARDS === POD)
    expect(mine.map((m) => m.name)).toEqual(['kilo', 'mike'])
    for (const m of models)
      expect(await registryTags(registry, `fleet/${m.name}`), `tags of fleet/${m.name}`).toEqual(mine.includes(m) ? ['main'] : [])
    for (const m of mine) await expectPulledModel(registry, `fleet/${m.name}`, 'main', m, join(tmp.path, 'pulled', m.name))
  })
})
