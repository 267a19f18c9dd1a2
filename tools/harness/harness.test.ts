// Checks the harness and the fixtures against the real tools: skopeo, umoci and podman read the
// busybox layouts, and the registry takes pushes, with and without basic auth.
import { createHash } from 'node:crypto'
import { readFile, readlink, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildFixtures, type FixturePaths } from '../fixtures/build-fixtures.mjs'
import { startRegistry, type Registry } from './registry.js'
import { tempDir, type TempDir } from './temp.js'
import {
  describeCommand,
  MissingToolError,
  mustRun,
  podmanRun,
  run,
  skopeoCopyToRegistry,
  skopeoInspect,
  umociUnpack,
  type Descriptor,
  type RawManifest,
} from './tools.js'

const SLOW = 120_000

let work: TempDir
let fixtures: FixturePaths
let registry: Registry

beforeAll(async () => {
  work = await tempDir('harness-test')
  fixtures = await buildFixtures(join(work.path, 'fixtures'))
  registry = await startRegistry()
}, SLOW)

afterAll(async () => {
  await registry?.stop()
  await work?.cleanup()
})

const sha256 = (bytes: Buffer | string) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`
const readBlob = (layout: string, digest: string) => readFile(join(layout, 'blobs', 'sha256', digest.replace(/^sha256:/, '')))
const readJsonBlob = async <T>(layout: string, digest: string) => JSON.parse((await readBlob(layout, digest)).toString()) as T
const readIndex = async (layout: string) => JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as RawManifest
const tagged = (index: RawManifest, tag: string) => {
  const entry = index.manifests?.find((d) => d.annotations?.['org.opencontainers.image.ref.name'] === tag)
  if (!entry) throw new Error(`no index.json entry tagged ${tag}`)
  return entry
}

/** Every descriptor reachable from index.json, each checked against its blob's size and digest. */
async function walkLayout(layout: string): Promise<Descriptor[]> {
  const seen: Descriptor[] = []
  const visit = async (d: Descriptor) => {
    const bytes = await readBlob(layout, d.digest)
    expect({ digest: sha256(bytes), size: bytes.length }, `blob of ${d.mediaType}`).toEqual({ digest: d.digest, size: d.size })
    seen.push(d)
    if (!d.mediaType.endsWith('+json') || !/manifest|index/.test(d.mediaType)) return
    const doc = JSON.parse(bytes.toString()) as RawManifest
    for (const child of [...(doc.manifests ?? []), ...(doc.config ? [doc.config] : []), ...(doc.layers ?? [])]) await visit(child)
  }
  for (const entry of (await readIndex(layout)).manifests ?? []) await visit(entry)
  return seen
}

describe('fixtures', () => {
  it.each(['single', 'multiarch', 'docker'] as const)(
    '%s: every blob index.json reaches is there, with its digest and size',
    async (shape) => {
      const descriptors = await walkLayout(fixtures[shape])
      expect(descriptors.some((d) => /layer|rootfs/.test(d.mediaType))).toBe(true)
    },
  )

  it(
    'are deterministic, and not rebuilt when complete',
    async () => {
      const again = await buildFixtures(join(work.path, 'fixtures-again'))
      for (const shape of ['single', 'multiarch', 'docker'] as const) {
        expect(await readFile(join(again[shape], 'index.json'), 'utf8')).toBe(await readFile(join(fixtures[shape], 'index.json'), 'utf8'))
      }
      const before = await stat(join(fixtures.single, 'index.json'))
      await buildFixtures(join(work.path, 'fixtures'))
      expect((await stat(join(fixtures.single, 'index.json'))).mtimeMs).toBe(before.mtimeMs)
    },
    SLOW,
  )

  it(
    'single: skopeo reads one linux/amd64 OCI manifest; the config keeps what a naive rewrite drops',
    async () => {
      const entry = tagged(await readIndex(fixtures.single), 'latest')
      const { raw, rawText, inspect } = await skopeoInspect(`oci:${fixtures.single}:latest`)
      expect(raw.mediaType).toBe('application/vnd.oci.image.manifest.v1+json')
      expect(sha256(rawText)).toBe(entry.digest)
      expect(raw.layers?.map((l) => l.mediaType)).toEqual(['application/vnd.oci.image.layer.v1.tar+gzip'])
      expect([inspect.Os, inspect.Architecture]).toEqual(['linux', 'amd64'])

      const config = await readJsonBlob<{ created?: string; config?: unknown; history?: unknown[]; rootfs: { diff_ids: string[] } }>(
        fixtures.single,
        raw.config!.digest,
      )
      expect(inspect.Created).toBe(config.created) // nanoseconds and all
      expect(config.created).toMatch(/\.\d{9}Z$/)
      expect(config.config).toHaveProperty('Healthcheck')
      expect(config.config).toHaveProperty('StopSignal')
      expect(config).toHaveProperty(['moby.buildkit.buildinfo.v1'])
      expect(config.history).toHaveLength(2)
      expect(config.rootfs.diff_ids).toEqual([sha256(gunzipSync(await readBlob(fixtures.single, raw.layers![0]!.digest)))])
    },
    SLOW,
  )

  it(
    'single: umoci unpacks busybox (0755), its applet links, and a sticky /tmp',
    async () => {
      const rootfs = await umociUnpack(`${fixtures.single}:latest`, join(work.path, 'bundle'))
      expect((await stat(join(rootfs, 'bin', 'busybox'))).mode & 0o7777).toBe(0o755)
      for (const applet of ['sh', 'ls', 'ln', 'sleep', 'cat', 'echo', 'test', '[', 'mkdir']) {
        expect(await readlink(join(rootfs, 'bin', applet)), applet).toBe('busybox')
      }
      expect((await stat(join(rootfs, 'tmp'))).mode & 0o7777).toBe(0o1777)
      expect(await readFile(join(rootfs, 'etc', 'passwd'), 'utf8')).toMatch(/^root:x:0:0:/)
    },
    SLOW,
  )

  it(
    'single: podman runs it straight from the layout, with the config Env',
    async () => {
      const { raw } = await skopeoInspect(`oci:${fixtures.single}:latest`)
      const config = await readJsonBlob<{ config: { Env: string[] } }>(fixtures.single, raw.config!.digest)
      const out = await podmanRun(`oci:${fixtures.single}:latest`, 'echo "PATH=$PATH"')
      expect(config.config.Env).toContain(out.trim())
    },
    SLOW,
  )

  it(
    'multiarch: index.json names a nested index with amd64, arm64/v8 and an attestation for amd64',
    async () => {
      const entry = tagged(await readIndex(fixtures.multiarch), 'latest')
      expect(entry.mediaType).toBe('application/vnd.oci.image.index.v1+json')
      const { raw, rawText } = await skopeoInspect(`oci:${fixtures.multiarch}:latest`)
      expect(sha256(rawText)).toBe(entry.digest)
      const platforms = raw.manifests?.map((d) => [d.platform?.os, d.platform?.architecture, d.platform?.variant].filter(Boolean).join('/'))
      expect(platforms).toEqual(['linux/amd64', 'linux/arm64/v8', 'unknown/unknown'])
      const [amd64, , attestation] = raw.manifests!
      expect(attestation!.annotations).toEqual({
        'vnd.docker.reference.digest': amd64!.digest,
        'vnd.docker.reference.type': 'attestation-manifest',
      })
      const attestationManifest = await readJsonBlob<RawManifest>(fixtures.multiarch, attestation!.digest)
      expect(attestationManifest.layers?.map((l) => l.mediaType)).toEqual(['application/vnd.in-toto+json'])
    },
    SLOW,
  )

  it(
    'multiarch: skopeo copies all instances to another layout with the same digests',
    async () => {
      const copy = join(work.path, 'multiarch-copy')
      await mustRun('skopeo', [
        '--insecure-policy',
        'copy',
        '--multi-arch',
        'all',
        '--preserve-digests',
        `oci:${fixtures.multiarch}:latest`,
        `oci:${copy}:latest`,
      ])
      expect(tagged(await readIndex(copy), 'latest').digest).toBe(tagged(await readIndex(fixtures.multiarch), 'latest').digest)
      expect((await walkLayout(copy)).length).toBe((await walkLayout(fixtures.multiarch)).length)
    },
    SLOW,
  )

  it(
    'docker: index.json holds Docker media types, which skopeo’s oci: transport refuses',
    async () => {
      const index = await readIndex(fixtures.docker)
      expect(index.manifests?.map((d) => d.mediaType)).toEqual([
        'application/vnd.docker.distribution.manifest.list.v2+json',
        'application/vnd.docker.distribution.manifest.v2+json',
        'application/vnd.docker.distribution.manifest.v2+json',
      ])
      const list = await readJsonBlob<RawManifest>(fixtures.docker, tagged(index, 'latest').digest)
      expect(index.manifests?.slice(1)).toEqual(list.manifests)
      const manifest = await readJsonBlob<RawManifest>(fixtures.docker, list.manifests![0]!.digest)
      expect(manifest.config?.mediaType).toBe('application/vnd.docker.container.image.v1+json')
      expect(manifest.layers?.map((l) => l.mediaType)).toEqual(['application/vnd.docker.image.rootfs.diff.tar.gzip'])
      const config = await readJsonBlob<{ created?: string; config?: unknown; history?: unknown[]; rootfs: { diff_ids: string[] } }>(
        fixtures.docker,
        manifest.config!.digest,
      )
      expect(config).toHaveProperty('docker_version')
      expect(config).toHaveProperty('container_config')
      expect((await run('skopeo', ['inspect', `oci:${fixtures.docker}:latest`])).code).not.toBe(0)
    },
    SLOW,
  )
})

describe('registry', () => {
  it(
    'takes the single image with its digest, and podman runs it from there',
    async () => {
      const ref = `${registry.host}/busybox/single:latest`
      await skopeoCopyToRegistry(`${fixtures.single}:latest`, ref)
      const { inspect } = await skopeoInspect(`docker://${ref}`)
      expect(inspect.Digest).toBe(tagged(await readIndex(fixtures.single), 'latest').digest)
      expect(registry.logs()).toMatch(/PUT \/v2\/busybox\/single\/manifests\/latest/)

      const out = await podmanRun(ref, 'ls -la /bin/sh && echo ok')
      expect(out).toMatch(/\/bin\/sh -> busybox/)
      expect(out.trim().split('\n').at(-1)).toBe('ok')
    },
    SLOW,
  )

  it(
    'takes the multi-arch index with every instance and its digest',
    async () => {
      const ref = `${registry.host}/busybox/multiarch:latest`
      await skopeoCopyToRegistry(`${fixtures.multiarch}:latest`, ref)
      const { rawText } = await skopeoInspect(`docker://${ref}`)
      const nested = tagged(await readIndex(fixtures.multiarch), 'latest')
      expect(rawText).toBe((await readBlob(fixtures.multiarch, nested.digest)).toString())
    },
    SLOW,
  )

  it(
    'with htpasswd: refuses an anonymous push, takes one with --dest-creds, never shows the password',
    async () => {
      const creds = { user: 'tester', password: `pw-${Math.random().toString(36).slice(2)}` }
      const secured = await startRegistry({ htpasswd: creds })
      try {
        const ref = `${secured.host}/busybox/single:latest`
        const anonymous = skopeoCopyToRegistry(`${fixtures.single}:latest`, ref)
        await expect(anonymous).rejects.toThrow(/unauthorized|authentication required/)

        const withWrongPassword = await skopeoCopyToRegistry(`${fixtures.single}:latest`, ref, {
          creds: { ...creds, password: `${creds.password}-wrong` },
        }).catch((e: Error) => e)
        expect(withWrongPassword).toBeInstanceOf(Error)
        expect(String(withWrongPassword)).toContain(`--dest-creds ${creds.user}:***`)
        expect(String(withWrongPassword)).not.toContain(creds.password)

        await skopeoCopyToRegistry(`${fixtures.single}:latest`, ref, { creds })
        const { inspect } = await skopeoInspect(`docker://${ref}`, { creds })
        expect(inspect.Digest).toBe(tagged(await readIndex(fixtures.single), 'latest').digest)
        expect(secured.logs()).not.toContain(creds.password)
      } finally {
        await secured.stop()
      }
    },
    SLOW,
  )
})

describe('tools', () => {
  it('names the Debian package of a missing tool', async () => {
    const pathless = { env: { ...process.env, PATH: '/nonexistent' } }
    await expect(run('umoci', ['--version'], pathless)).rejects.toThrow(MissingToolError)
    await expect(run('htpasswd', [], pathless)).rejects.toThrow(/apache2-utils/)
  })

  it('hides credentials in command lines', () => {
    expect(describeCommand('skopeo', ['copy', '--dest-creds', 'u:p4ss', '--creds=v:s3cret', 'a b'])).toBe(
      "skopeo copy --dest-creds u:*** --creds=v:*** 'a b'",
    )
  })
})
