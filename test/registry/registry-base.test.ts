// Bases from a registry: a busybox in Docker schema 2 media types (the OCI multi-arch base from a
// registry is covered by zero-disk-mirror.test.ts),
// read from the registry and streamed into an image layout (registry → layout), and mounted into
// another repository of the same registry (registry → registry); a base pinned by digest.
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildFixtures, type FixturePaths } from '../../tools/fixtures/build-fixtures.mjs'
import { startRegistry, type Registry } from '../../tools/harness/registry.js'
import { tempDir, type TempDir } from '../../tools/harness/temp.js'
import { mustRun, podmanRun, skopeoInspect } from '../../tools/harness/tools.js'
import {
  assertCliBuilt,
  cliEnv,
  MT,
  modelcar,
  mustModelcar,
  printedDigest,
  readIndex,
  readJsonBlob,
  sha256,
  tagged,
  writeModel,
  type Model,
} from '../e2e/support.js'

const SLOW = 180_000
let tmp: TempDir
let fixtures: FixturePaths
let model: Model
let registry: Registry
let baseDigest: string

beforeAll(async () => {
  await assertCliBuilt()
  tmp = await tempDir('mc-rbase')
  fixtures = await buildFixtures(join(tmp.path, 'fixtures'))
  model = await writeModel(join(tmp.path, 'model'))
  registry = await startRegistry()
  // Docker schema 2, as many registries still serve bases.
  await mustRun('skopeo', [
    '--insecure-policy',
    'copy',
    '--format',
    'v2s2',
    '--dest-tls-verify=false',
    '--dest-no-creds',
    `oci:${fixtures.single}:latest`,
    `docker://${registry.host}/base/busybox:docker`,
  ])
  baseDigest = sha256((await skopeoInspect(`docker://${registry.host}/base/busybox:docker`)).rawText)
}, SLOW)

afterAll(async () => {
  await registry?.stop()
  await tmp?.cleanup()
})

const env = () => cliEnv({ REGISTRY_AUTH_FILE: join(tmp.path, 'none.json'), HOME: join(tmp.path, 'home') })

describe('registry bases', () => {
  it('reads a Docker schema 2 image from the registry: streamed into a layout, mounted into another repository; both run', async () => {
    const { rawText } = await skopeoInspect(`docker://${registry.host}/base/busybox:docker`)
    expect(JSON.parse(rawText).mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json')
    const dir = join(tmp.path, 'run-docker')
    await mkdir(dir, { recursive: true })
    const ref = `${registry.host}/models/on-docker:v1`
    await writeFile(
      join(dir, 'recipe.yaml'),
      `apiVersion: modelcar/v1\nbase: registry:${registry.host}/base/busybox:docker\nsources:\n  - type: local\n    path: ${model.root}\nsinks:\n  - type: oci-layout\n    path: ./out\n  - type: registry\n    ref: ${ref}\n`,
    )
    const logStart = registry.logs().length
    const digest = printedDigest(await mustModelcar(['run', join(dir, 'recipe.yaml')], { env: env() }))
    const out = join(dir, 'out')
    const root = tagged(await readIndex(out))
    expect(root.digest).toBe(digest)
    expect(root.mediaType).toBe(MT.ociManifest)
    const manifest = await readJsonBlob(out, digest)
    expect(manifest.config!.mediaType).toBe(MT.ociConfig)
    expect(manifest.layers![0]!.mediaType).toBe(MT.ociLayerGzip)
    expect((await podmanRun(`oci:${out}:latest`, 'ls /models')).split('\n')).toContain('weights.bin')

    expect(sha256((await skopeoInspect(`docker://${ref}`)).rawText)).toBe(digest)
    expect(registry.logs().slice(logStart)).toMatch(/mount=sha256/)
    expect(await podmanRun(ref, 'ls -la /models')).toContain('weights.bin')
  })

  it('takes a base pinned by digest, and names a missing tag', async () => {
    const dir = join(tmp.path, 'run-digest')
    await mkdir(dir, { recursive: true })
    await writeFile(
      join(dir, 'recipe.yaml'),
      `apiVersion: modelcar/v1\nbase: registry:${registry.host}/base/busybox@${baseDigest}\nsources:\n  - type: local\n    path: ${model.root}\nsinks:\n  - type: oci-layout\n    path: ./out\n`,
    )
    await mustModelcar(['run', join(dir, 'recipe.yaml')], { env: env() })
    const manifest = await readJsonBlob(join(dir, 'out'), tagged(await readIndex(join(dir, 'out'))).digest)
    expect(manifest.annotations?.['org.opencontainers.image.base.digest']).toBe(baseDigest)

    await writeFile(
      join(dir, 'missing.yaml'),
      `apiVersion: modelcar/v1\nbase: registry:${registry.host}/base/busybox:nope\nsources:\n  - type: local\n    path: ${model.root}\nsinks:\n  - type: oci-layout\n    path: ./out2\n`,
    )
    const r = await modelcar(['run', join(dir, 'missing.yaml')], { env: env() })
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(/tag `nope` is not in `127\.0\.0\.1:\d+\/base\/busybox`/)
  })
})
