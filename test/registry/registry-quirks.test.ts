// The registry sink against the quirks of real registries, imitated by tools/registry-proxy in
// front of a real docker-registry: ranged chunks capped at 4 MiB (GHCR), PATCH refused (then one
// PUT per blob), 429/503 with Retry-After, a connection cut mid-upload (the layer is streamed
// again from the source); chunked uploads that resume after a cut or a 416 by asking the registry
// where it stands. Each pushed image is checked against the oci-layout sink's copy.
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { buildFixtures, type FixturePaths } from '../../tools/fixtures/build-fixtures.mjs'
import { startRegistryProxy, type RegistryProxy } from '../../tools/registry-proxy/registry-proxy.mjs'
import { startRegistry, type Registry } from '../../tools/harness/registry.js'
import { tempDir, type TempDir } from '../../tools/harness/temp.js'
import { skopeoInspect } from '../../tools/harness/tools.js'
import {
  assertCliBuilt,
  cliEnv,
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
const MiB = 1 << 20

let tmp: TempDir
let fixtures: FixturePaths
let model: Model
let registry: Registry
let proxy: RegistryProxy

beforeAll(async () => {
  await assertCliBuilt()
  tmp = await tempDir('mc-quirk')
  fixtures = await buildFixtures(join(tmp.path, 'fixtures'))
  model = await writeModel(join(tmp.path, 'model'), { weightsBytes: 10 * MiB })
  registry = await startRegistry()
  proxy = await startRegistryProxy({ upstream: registry.url })
}, SLOW)

afterAll(async () => {
  await proxy?.stop()
  await registry?.stop()
  await tmp?.cleanup()
})

beforeEach(() => {
  proxy.setQuirks({})
  proxy.requests.length = 0
})

let n = 0
/** A recipe pushing the model (on the single-arch busybox) to the proxy and to a layout, for comparison. */
async function recipe(repo: string, sinkExtra = ''): Promise<{ file: string; out: string; ref: string }> {
  const dir = join(tmp.path, `run-${++n}`)
  await mkdir(dir, { recursive: true })
  const file = join(dir, 'recipe.yaml')
  const ref = `${proxy.host}/${repo}:v1`
  await writeFile(
    file,
    `apiVersion: modelcar/v1\nbase: oci-layout:${fixtures.single}:latest\nsources:\n  - type: local\n    path: ${model.root}\nsinks:\n  - type: oci-layout\n    path: ./out\n  - type: registry\n    ref: ${ref}\n${sinkExtra}`,
  )
  return { file, out: join(dir, 'out'), ref }
}

const env = () => cliEnv({ REGISTRY_AUTH_FILE: join(tmp.path, 'none.json'), HOME: join(tmp.path, 'home') })

/** The pushed image is byte for byte the one in the layout. */
async function expectPushed(ref: string, out: string, digest: string): Promise<void> {
  expect(tagged(await readIndex(out)).digest).toBe(digest)
  const { rawText, inspect } = await skopeoInspect(`docker://${ref}`)
  expect(sha256(rawText)).toBe(digest)
  expect(inspect.Layers.length).toBeGreaterThan(model.files.length)
}

/** The digest of the `done` event of a --json run. */
function jsonDigest(stdout: string): string {
  const done = stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { type: string; digest?: string })
    .find((e) => e.type === 'done')
  expect(done?.digest, stdout).toMatch(/^sha256:[a-f0-9]{64}$/)
  return done!.digest!
}

const retries = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { type: string; what?: string; reason?: string })
    .filter((e) => e.type === 'retry')

describe('registry quirks', () => {
  it('chunked uploads: ranged PATCHes of at most 4 MiB pass a 4 MiB cap; 8 MiB chunks fail with the 416 and a hint', async () => {
    proxy.setQuirks({ maxChunkBytes: 4 * MiB })
    const ok = await recipe('quirk/chunked', '    upload: chunked\n    chunkSize: 4MiB\n')
    const digest = printedDigest(await mustModelcar(['run', ok.file], { env: env() }))
    await expectPushed(ok.ref, ok.out, digest)
    const patches = proxy.requests.filter((r) => r.method === 'PATCH')
    expect(patches.length).toBeGreaterThanOrEqual(3) // the 10 MiB layer alone needs 3
    for (const p of patches) {
      expect(p.contentRange).toMatch(/^\d+-\d+$/)
      expect(p.bytes).toBeLessThanOrEqual(4 * MiB)
      expect(p.status).toBe(202)
    }

    const big = await recipe('quirk/chunked-big', '    upload: chunked\n    chunkSize: 8MiB\n')
    const failed = await modelcar(['run', big.file], { env: env() })
    expect(failed.code).toBe(1)
    expect(failed.stderr).toMatch(/\[PATCH\] .*: 416/)
    expect(failed.stderr).toMatch(/4\.00MiB/)
    expect(failed.stderr).toMatch(/chunkSize/)
  })

  it('a registry that refuses PATCH gets one PUT per blob after a warning', async () => {
    proxy.setQuirks({ refusePatch: true })
    const r = await recipe('quirk/monolithic')
    const result = await mustModelcar(['run', r.file], { env: env() })
    await expectPushed(r.ref, r.out, printedDigest(result))
    expect(result.stderr).toMatch(/refuses PATCH uploads/)
    const puts = proxy.requests.filter((q) => q.method === 'PUT' && /\/blobs\/uploads\//.test(q.path) && q.status === 201)
    expect(puts.some((p) => p.bytes > 10 * MiB)).toBe(true)
  })

  it('the same image with upload: monolithic from the start (each layer read twice, never PATCHed)', async () => {
    const r = await recipe('quirk/monolithic-set', '    upload: monolithic\n')
    const result = await mustModelcar(['run', r.file], { env: env() })
    await expectPushed(r.ref, r.out, printedDigest(result))
    expect(proxy.requests.filter((q) => q.method === 'PATCH')).toEqual([])
  })

  it('429 and 503 with Retry-After are waited out', async () => {
    proxy.setQuirks({
      status: [
        { method: 'POST', path: '/blobs/uploads/', status: 429, retryAfter: 1, times: 2 },
        { method: 'PUT', path: '/manifests/', status: 503, retryAfter: 1 },
        { method: 'HEAD', path: '/blobs/', status: 503 },
        // A streamed PATCH cannot be sent again as is: the engine streams the layer again.
        { method: 'PATCH', status: 503, retryAfter: 1 },
      ],
    })
    const r = await recipe('quirk/busy')
    const result = await mustModelcar(['run', r.file, '--json'], { env: env() })
    await expectPushed(r.ref, r.out, jsonDigest(result.stdout))
    expect(proxy.requests.filter((q) => q.quirk?.startsWith('status')).length).toBe(5)
    const seen = retries(result.stdout)
    expect(seen.some((e) => /429/.test(e.reason ?? ''))).toBe(true)
    expect(seen.some((e) => /503/.test(e.reason ?? ''))).toBe(true)
    expect(seen.some((e) => /\[PATCH\] .*: 503/.test(e.reason ?? '') && (e.what ?? '').includes('/models/'))).toBe(true)
  })

  it('a denied repository and a rejected manifest fail with the status, the registry code and a hint; the tag stays unset', async () => {
    proxy.setQuirks({ status: [{ method: 'POST', path: '/blobs/uploads/', status: 403, times: 100 }] })
    const denied = await recipe('quirk/denied')
    const r1 = await modelcar(['run', denied.file], { env: env() })
    expect(r1.code, r1.stderr).not.toBe(0)
    console.info(`denied: ${r1.stderr.trim()}`)
    expect(r1.stderr).toMatch(/403 POST http:\/\/127\.0\.0\.1:\d+\/v2\/quirk\/denied\/blobs\/uploads\/ DENIED/)
    expect(r1.stderr).toMatch(/access to `quirk\/denied` \(pull,push\) .* is denied/)

    proxy.setQuirks({
      status: [{ method: 'PUT', path: '/manifests/', status: 400, code: 'MANIFEST_INVALID', message: 'manifest invalid', times: 100 }],
    })
    const rejected = await recipe('quirk/rejected')
    const r2 = await modelcar(['run', rejected.file], { env: env() })
    expect(r2.code).toBe(1)
    expect(r2.stderr).toMatch(
      /\[PUT\] http:\/\/127\.0\.0\.1:\d+\/v2\/quirk\/rejected\/manifests\/\S+: 400 .*MANIFEST_INVALID manifest invalid/,
    )
    expect(r2.stderr).toMatch(/refused the image manifest/)
    proxy.setQuirks({})
    const res = await fetch(`${registry.url}/v2/quirk/rejected/manifests/v1`, {
      method: 'HEAD',
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    })
    expect(res.status).toBe(404)
  })

  it('a connection cut mid-upload: the layer is streamed again from the source, for that sink only', async () => {
    proxy.setQuirks({ cutAfterBytes: [2 * MiB] })
    const r = await recipe('quirk/cut', '    upload: streamed\n')
    const result = await mustModelcar(['run', r.file, '--json'], { env: env() })
    await expectPushed(r.ref, r.out, jsonDigest(result.stdout))
    expect(proxy.requests.filter((q) => q.cut).length).toBe(1)
    const seen = retries(result.stdout)
    expect(seen.length).toBeGreaterThanOrEqual(1)
    expect(seen[0]!.what).toContain(r.ref)

    // With the registry as the only sink, the cut pass stops reading the source at once.
    proxy.setQuirks({ cutAfterBytes: [1 * MiB, 3 * MiB] })
    const alone = join(tmp.path, 'alone.yaml')
    await writeFile(
      alone,
      `apiVersion: modelcar/v1\nbase: oci-layout:${fixtures.single}:latest\nsources:\n  - type: local\n    path: ${model.root}\nsinks:\n  - type: registry\n    ref: ${proxy.host}/quirk/cut-alone:v1\n`,
    )
    const second = await mustModelcar(['run', alone, '--json'], { env: env() })
    expect(jsonDigest(second.stdout)).toBe(jsonDigest(result.stdout))
    expect(retries(second.stdout).length).toBe(2)
  })
})

describe('chunked uploads resume where the registry stands', () => {
  const KiB = 1024
  /** The requests of the upload session of `path` (its URL without the query), in order. */
  const session = (path: string) => proxy.requests.filter((q) => q.path.split('?')[0] === path.split('?')[0])
  /** Upload sessions opened beyond the blobs pushed: one for each blob uploaded again from its start (not resumed in place). */
  const sessionsAgain = () =>
    proxy.requests.filter((q) => q.method === 'POST' && q.status === 202).length -
    proxy.requests.filter((q) => q.method === 'PUT' && /\/blobs\/uploads\//.test(q.path) && q.status === 201).length

  /** A push with 1 MiB chunks (the 10 MiB weights take 11), checked against the layout and blob by blob from the registry itself. */
  async function pushChunked(repo: string): Promise<string> {
    const r = await recipe(repo, '    upload: chunked\n    chunkSize: 1MiB\n')
    const result = await mustModelcar(['run', r.file, '--json'], { env: env() })
    await expectPushed(r.ref, r.out, jsonDigest(result.stdout))
    const manifest = await readJsonBlob(r.out, tagged(await readIndex(r.out)).digest)
    expect(manifest.layers?.some((l) => l.size > 10 * MiB)).toBe(true)
    for (const layer of [...(manifest.layers ?? []), manifest.config!]) {
      const res = await fetch(`${registry.url}/v2/${repo}/blobs/${layer.digest}`)
      const bytes = Buffer.from(await res.arrayBuffer())
      expect({ status: res.status, size: bytes.length, digest: sha256(bytes) }).toEqual({
        status: 200,
        size: layer.size,
        digest: layer.digest,
      })
    }
    return result.stdout
  }

  it('a PATCH cut before the registry saw it (a buffering front): GET on the upload URL, the chunk sent again in place', async () => {
    proxy.setQuirks({ cutBeforeRegistry: [512 * KiB] })
    const stdout = await pushChunked('resume/cut-front')
    const cut = proxy.requests.filter((q) => q.cut)
    expect(cut).toEqual([expect.objectContaining({ method: 'PATCH', bytes: 512 * KiB, status: 0 })])
    const s = session(cut[0]!.path)
    const at = s.indexOf(cut[0]!)
    expect(s[at + 1]).toMatchObject({ method: 'GET', status: 204 })
    expect(s[at + 2]).toMatchObject({ method: 'PATCH', contentRange: cut[0]!.contentRange, status: 202 })
    expect(s.at(-1)).toMatchObject({ method: 'PUT', status: 201 })
    expect(sessionsAgain()).toBe(0)
    expect(retries(stdout).some((e) => /PATCH http:.*\/blobs\/uploads\//.test(e.what ?? ''))).toBe(true)
  })

  it('a PATCH the registry took whose answer was cut: asked, not sent again blind; docker-registry 2.8 (its upload state rides in the Location we never got) drops the session, the blob is uploaded again', async () => {
    proxy.setQuirks({ cutAnswers: 1 })
    await pushChunked('resume/answer-cut')
    const cut = proxy.requests.filter((q) => q.cut)
    expect(cut).toEqual([expect.objectContaining({ method: 'PATCH', quirk: 'answer cut', status: 202 })])
    const s = session(cut[0]!.path)
    expect(s.slice(s.indexOf(cut[0]!) + 1).map((q) => `${q.method} ${q.status}`)).toEqual(['GET 404', 'DELETE 404'])
    expect(sessionsAgain()).toBe(1)
  })

  it('a 416 (the registry took nothing of the PATCH): GET on the upload URL, the chunk sent again in place', async () => {
    proxy.setQuirks({ status: [{ method: 'PATCH', status: 416, code: 'RANGE_INVALID', message: 'invalid content range' }] })
    await pushChunked('resume/range')
    const refused = proxy.requests.filter((q) => q.quirk === 'status 416')
    expect(refused).toHaveLength(1)
    const s = session(refused[0]!.path)
    const at = s.indexOf(refused[0]!)
    expect(s[at + 1]).toMatchObject({ method: 'GET', status: 204 })
    expect(s[at + 2]).toMatchObject({ method: 'PATCH', contentRange: refused[0]!.contentRange, status: 202 })
    expect(sessionsAgain()).toBe(0)
  })

  it('a PATCH cut after the registry took part of it: docker-registry 2.8 drops the session (404 on the GET), the blob is uploaded again', async () => {
    proxy.setQuirks({ cutAfterBytes: [512 * KiB] })
    await pushChunked('resume/cut-partial')
    const cut = proxy.requests.filter((q) => q.cut)
    expect(cut).toEqual([expect.objectContaining({ method: 'PATCH', bytes: 512 * KiB })])
    const s = session(cut[0]!.path)
    expect(s.slice(s.indexOf(cut[0]!) + 1).map((q) => `${q.method} ${q.status}`)).toEqual(['GET 404', 'DELETE 404'])
    expect(sessionsAgain()).toBe(1)
  })
})
