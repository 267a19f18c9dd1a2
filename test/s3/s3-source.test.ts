// Source `s3` against a real S3 server (s3rver, in its own process) through the real CLI: a
// prefix mixed with a local folder onto busybox, pushed with skopeo and run with podman; a
// listing over several pages; cut connections (through the fault proxy) that change nothing; an
// object replaced mid-run; a file over 2 GiB resumed past 2^31; and every error users meet, with
// its exit code, a message naming bucket and key, nothing written and no secret shown. Where
// s3rver is lenient (it checks no signature or permission, stores no `../` keys, knows one
// region), the fault proxy answers as S3 does instead, and the test says so.
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, open, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { S3Client } from '@aws-sdk/client-s3'
import { DEFAULT_RETRY_POLICY, ModelcarError, silentLogger, type ComponentContext, type ModelFile } from '@modelcar/core'
import { s3Source } from '@modelcar/source-s3'
import { buildFixtures, type FixturePaths } from '../../tools/fixtures/build-fixtures.mjs'
import { s3ErrorXml, startFaultProxy, type FaultProxy } from '../../tools/fault-proxy/fault-proxy.mjs'
import { startRegistry, type Registry } from '../../tools/harness/registry.js'
import { tempDir, type TempDir } from '../../tools/harness/temp.js'

import { putObjects, seedClient, startS3Server, type S3Server } from '../../tools/s3-server/s3-server.mjs'
import { podmanRun, skopeoCopyToRegistry, type RawManifest } from '../../tools/harness/tools.js'
import { assertCliBuilt, blobPath, cliEnv, modelcar, mustModelcar, printedDigest, pythonTarMembers, readJsonBlob } from '../e2e/support.js'

const SLOW = 300_000
/** Recognisable, so a test can tell it never reached any output. */
const ENV_SECRET = 'envSecretValue-7f3a9c-MUST-NOT-APPEAR'
const FILE_SECRET = 'fileSecretValue-0b62e1-MUST-NOT-APPEAR'

const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex')

const model: Record<string, Buffer> = {
  'config.json': Buffer.from('{"model_type":"llama","hidden_size":64}\n'),
  'tokenizer/vocab.json': Buffer.from(JSON.stringify({ a: 1, b: 2, ü: 3 })),
  'tokenizer/merges.txt': Buffer.from('a b\nb c\n'),
  'nested/deep/er/notes.txt': Buffer.from('deep\n'),
  'model-00001-of-00002.safetensors': randomBytes(3 << 20),
  'model-00002-of-00002.safetensors': randomBytes(2 << 20),
  'README.md': Buffer.from('---\nlicense: apache-2.0\n---\n# tiny-llm from S3\n'),
}
const extras: Record<string, Buffer> = { 'labels.txt': Buffer.from('cat\ndog\n'), 'sub/calib.bin': randomBytes(4096) }
const MANY = 1500

let tmp: TempDir
let fixtures: FixturePaths
let s3: S3Server
let seed: S3Client
let proxy: FaultProxy
let registry: Registry
let home: string

beforeAll(async () => {
  await assertCliBuilt()
  tmp = await tempDir('mc-s3')
  fixtures = await buildFixtures(join(tmp.path, 'fixtures'))
  s3 = await startS3Server({ directory: join(tmp.path, 's3'), buckets: ['models', 'many'] })
  seed = seedClient(s3.url)
  await putObjects(
    seed,
    'models',
    {
      ...Object.fromEntries(Object.entries(model).map(([k, v]) => [`llm/${k}`, v])),
      // Folder markers as consoles and `aws s3api put-object --key dir/` make them: not files.
      'llm/tokenizer/': '',
      'llm/empty-folder/': '',
      // Beside the prefix, not under it: `llm` is a folder, not a string prefix.
      'llm-old/config.json': '{"old":true}',
      'other/x.bin': 'x',
      'bad/weights.bin': randomBytes(64 << 10),
    },
    {
      metadata: {
        // A full-object sha256 the object carries (s3rver keeps no checksums; user metadata it keeps).
        'llm/model-00001-of-00002.safetensors': { sha256: sha(model['model-00001-of-00002.safetensors']!) },
        'bad/weights.bin': { sha256: sha('something else') },
      },
    },
  )
  await putObjects(
    seed,
    'many',
    Object.fromEntries(Array.from({ length: MANY }, (_, i) => [`shards/part-${String(i).padStart(4, '0')}.txt`, `part ${i}\n`])),
    { concurrency: 16 },
  )
  proxy = await startFaultProxy({ target: s3.url })
  registry = await startRegistry()
  home = join(tmp.path, 'home')
  await mkdir(join(home, '.aws'), { recursive: true })
  await writeFile(join(home, '.aws', 'credentials'), `[ci]\naws_access_key_id = S3RVER\naws_secret_access_key = ${FILE_SECRET}\n`)
}, SLOW)

afterAll(async () => {
  await proxy?.stop()
  await s3?.stop()
  await registry?.stop()
  seed?.destroy()
  await tmp?.cleanup()
})

/** The test runner's environment without its own AWS settings; credentials for s3rver (any secret passes there). */
function env(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const e = cliEnv()
  for (const k of Object.keys(e)) if (k.startsWith('AWS_')) delete e[k]
  Object.assign(e, { HOME: home, AWS_EC2_METADATA_DISABLED: 'true', AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: ENV_SECRET })
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete e[k]
    else e[k] = v
  }
  return e
}

let n = 0
async function recipe(sources: string, base = 'scratch'): Promise<{ dir: string; file: string; out: string }> {
  const dir = join(tmp.path, `run-${++n}`)
  await mkdir(dir, { recursive: true })
  const file = join(dir, 'recipe.yaml')
  await writeFile(file, `apiVersion: modelcar/v1\nbase: ${base}\nsources:\n${sources}\nsinks:\n  - type: oci-layout\n    path: ./out\n`)
  return { dir, file, out: join(dir, 'out') }
}

const s3Entry = (bucket: string, prefix: string, extra = '', endpoint = s3.url) =>
  `  - type: s3\n    bucket: ${bucket}\n    prefix: ${prefix}\n    endpoint: ${endpoint}\n${extra}`

/** The image's layers (of the amd64 image when it is an index), with their annotations. */
async function manifestOf(layout: string, digest: string): Promise<RawManifest> {
  const root = await readJsonBlob(layout, digest)
  if (!root.manifests) return root
  const nested = async (m: RawManifest): Promise<RawManifest> => {
    const d = m.manifests!.find((x) => x.platform?.architecture === 'amd64') ?? m.manifests![0]!
    const doc = await readJsonBlob(layout, d.digest)
    return doc.manifests ? nested(doc) : doc
  }
  return nested(root)
}

/** The regular files under /models in the given layers, as Python's tarfile reads them. */
async function filesInLayers(layout: string, manifest: RawManifest): Promise<string[]> {
  const members = await pythonTarMembers(manifest.layers!.map((l) => blobPath(layout, l.digest)))
  return members
    .flat()
    .filter((m) => m.type === 'file')
    .map((m) => m.name.replace(/^models\//, ''))
    .sort()
}

describe('source s3', () => {
  it(
    'a prefix mixed with a local folder onto busybox: every object under /models with its bytes, pushed with skopeo, run with podman',
    async () => {
      const r = await recipe(
        `${s3Entry('models', 'llm')}  - type: local\n    path: ./extras\n    into: extras\n`,
        `oci-layout:${fixtures.multiarch}:latest`,
      )
      for (const [p, b] of Object.entries(extras)) {
        await mkdir(join(r.dir, 'extras', p, '..'), { recursive: true })
        await writeFile(join(r.dir, 'extras', p), b)
      }
      const result = await mustModelcar(['run', r.file], { env: env() })
      const manifest = await manifestOf(r.out, printedDigest(result))
      expect(manifest.annotations?.['org.opencontainers.image.source']).toBe('s3://models/llm/')
      const byTitle = Object.fromEntries(
        manifest
          .layers!.filter((l) => l.annotations?.['org.opencontainers.image.title'])
          .map((l) => [l.annotations!['org.opencontainers.image.title'], l.annotations!]),
      )
      expect(byTitle['tokenizer/vocab.json']?.['modelcar.origin']).toBe('s3://models/llm/tokenizer/vocab.json')
      expect(byTitle['model-00001-of-00002.safetensors']?.['modelcar.content.digest']).toBe(
        `sha256:${sha(model['model-00001-of-00002.safetensors']!)}`,
      )
      // Without a checksum, the content digest is computed while the object streams, and its
      // version (or ETag) names it for the next run.
      expect(byTitle['config.json']?.['modelcar.content.digest']).toBe(`sha256:${sha(model['config.json']!)}`)
      expect(byTitle['config.json']?.['modelcar.content.id']).toMatch(/^s3:models\/llm\/config\.json@(version|etag):/)
      // README.md is the model card
      expect(
        manifest.layers!.find((l) => l.annotations?.['io.opendatahub.modelcar.layer.type'] === 'modelcard')?.annotations?.[
          'org.opencontainers.image.title'
        ],
      ).toBe('README.md')

      const ref = `${registry.host}/acme/s3-llm:v1`
      await skopeoCopyToRegistry(`${r.out}:latest`, ref)
      const output = await podmanRun(ref, 'ls -la /models && echo --- && cd /models && find . -type f | sort | xargs sha256sum')
      const [ls, listing] = output.split('---\n') as [string, string]
      for (const name of ['config.json', 'README.md', 'tokenizer', 'nested', 'extras']) expect(ls).toContain(` ${name}\n`)
      const seen = Object.fromEntries(
        listing
          .trim()
          .split('\n')
          .map((l) => {
            const [h, p] = l.split(/\s+/)
            return [p!.replace(/^\.\//, ''), h]
          }),
      )
      const expected = {
        ...Object.fromEntries(Object.entries(model).map(([p, b]) => [p, sha(b)])),
        ...Object.fromEntries(Object.entries(extras).map(([p, b]) => [`extras/${p}`, sha(b)])),
      }
      expect(seen).toEqual(expected)
      // The folder markers, and the objects beside the prefix, are not files of the model.
      expect(Object.keys(seen).some((p) => p.includes('empty-folder') || p.includes('old') || p.includes('x.bin'))).toBe(false)
    },
    SLOW,
  )

  it(
    'a listing over two pages (1500 keys, 1000 a page) takes every object',
    async () => {
      proxy.requests.length = 0
      const r = await recipe(s3Entry('many', 'shards', '', proxy.url))
      const result = await mustModelcar(['run', r.file], { env: env() })
      const lists = proxy.requests.filter((q) => q.path.includes('list-type=2'))
      expect(lists).toHaveLength(2)
      expect(lists[1]!.path).toMatch(/continuation-token=/)
      const manifest = await manifestOf(r.out, printedDigest(result))
      const files = await filesInLayers(r.out, manifest)
      expect(files).toEqual(Array.from({ length: MANY }, (_, i) => `part-${String(i).padStart(4, '0')}.txt`))
    },
    SLOW,
  )

  it(
    'cut connections change nothing in the result: each object resumed with a Range, pinned by If-Match',
    async () => {
      const clean = await recipe(s3Entry('models', 'llm', '', proxy.url))
      const cleanDigest = printedDigest(await mustModelcar(['run', clean.file], { env: env() }))
      proxy.requests.length = 0
      // Object GETs are /models/llm/<key>?x-id=GetObject; the listing is /models/?list-type=2…
      proxy.setRules([
        {
          method: 'GET',
          path: '/models/llm/config.json',
          respond: { status: 503, retryAfter: 0, body: s3ErrorXml('SlowDown', 'Please reduce your request rate.') },
          times: 1,
        },
        { method: 'GET', path: /^\/models\/llm\/model-/, cut: { afterFraction: 0.5 }, timesPerPath: 2 },
        { method: 'GET', path: /^\/models\/llm\//, cut: { afterBytes: 3 }, timesPerPath: 1 },
      ])
      try {
        const faulty = await recipe(s3Entry('models', 'llm', '', proxy.url))
        const result = await mustModelcar(['run', faulty.file], { env: env() })
        expect(printedDigest(result)).toBe(cleanDigest)
      } finally {
        proxy.setRules([])
      }
      const gets = proxy.requests.filter((q) => q.method === 'GET' && !q.path.includes('list-type'))
      const cutPaths = new Set(gets.filter((q) => q.cut).map((q) => q.path))
      expect(cutPaths.size).toBe(Object.keys(model).length)
      // the weights: cut at half, at half of the rest, then 3 bytes into the rest of that
      expect(gets.filter((q) => q.path.includes('model-0000') && q.cut)).toHaveLength(6)
      // resumed from the byte received, never from the start or with a suffix range
      expect(gets.filter((q) => q.range).every((q) => /^bytes=[1-9]\d*-$/.test(q.range!))).toBe(true)
      expect(gets.filter((q) => q.range === 'bytes=3-').length).toBeGreaterThan(0)
      expect(gets.every((q) => q.ifMatch && /^"[0-9a-f]{32}"$/.test(q.ifMatch))).toBe(true)
      expect(proxy.requests.some((q) => q.status === 503)).toBe(true)
    },
    SLOW,
  )

  it(
    'one retry policy: a busy listing and HEAD are asked again, a busy GetObject is one request per engine try',
    async () => {
      const slowDown = { status: 503, retryAfter: 0, body: s3ErrorXml('SlowDown', 'Please reduce your request rate.') }
      proxy.setRules([
        { method: 'GET', path: /list-type=2/, respond: slowDown, times: 1 },
        { method: 'HEAD', path: /^\/models\/llm\/config\.json/, respond: slowDown, times: 1 },
      ])
      proxy.requests.length = 0
      try {
        const r = await recipe(s3Entry('models', 'llm', '    include: ["*.json"]\n', proxy.url))
        await mustModelcar(['run', r.file], { env: env() })
        const lists = proxy.requests.filter((q) => q.path.includes('list-type=2'))
        expect(lists.map((q) => q.status)).toEqual([503, 200])
        const heads = proxy.requests.filter((q) => q.method === 'HEAD' && q.path.startsWith('/models/llm/config.json'))
        expect(heads.map((q) => q.status)).toEqual([503, 200])

        // A store that keeps throttling the read: the engine's tries in all, the SDK adding none of its own.
        proxy.setRules([{ method: 'GET', path: /^\/models\/llm\/config\.json\?/, respond: slowDown }])
        proxy.requests.length = 0
        const bad = await recipe(s3Entry('models', 'llm', '    include: ["config.json"]\n', proxy.url))
        const failed = await modelcar(['run', bad.file], { env: env() })
        expect(failed.code, failed.stderr).toBe(1)
        expect(failed.stderr).toMatch(/the store answered 503 for `s3:\/\/models\/llm\/config\.json`.*\(gave up after 5 tries\)/)
        const gets = proxy.requests.filter((q) => q.method === 'GET' && q.path.startsWith('/models/llm/config.json?'))
        expect(gets).toHaveLength(DEFAULT_RETRY_POLICY.attempts)
      } finally {
        proxy.setRules([])
      }
    },
    SLOW,
  )

  it(
    'an object replaced after listing is detected, not mixed in',
    async () => {
      await putObjects(seed, 'models', { 'moving/a.bin': randomBytes(1024), 'moving/b.bin': randomBytes(1024) })
      const ctx: ComponentContext = {
        type: 's3',
        logger: silentLogger,
        signal: new AbortController().signal,
        concurrency: 1,
        baseDir: tmp.path,
        env: { HOME: home, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: ENV_SECRET, AWS_EC2_METADATA_DISABLED: 'true' },
        fetch,
        emit() {},
        secret() {},
      }
      const source = await s3Source.create({ bucket: 'models', prefix: 'moving', endpoint: s3.url }, ctx)
      const files: ModelFile[] = []
      for await (const f of source.list()) files.push(f)
      expect(files.map((f) => f.path)).toEqual(['a.bin', 'b.bin'])
      await putObjects(seed, 'models', { 'moving/b.bin': randomBytes(1024) })
      const err = await files[1]!.open().then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(err).toBeInstanceOf(ModelcarError)
      expect(err).toMatchObject({
        code: 'SOURCE_DIGEST_MISMATCH',
        retryable: false,
        message: expect.stringMatching(/`s3:\/\/models\/moving\/b.bin` was replaced during the run/),
      })
      // the one not replaced still reads
      let bytes = 0
      for await (const c of await files[0]!.open()) bytes += (c as Uint8Array).byteLength
      expect(bytes).toBe(1024)
    },
    SLOW,
  )

  it(
    'a versioned object with a full-object SHA-256 checksum (as AWS S3 answers HEAD): pinned by version, checksum verified',
    async () => {
      // s3rver has neither versioning nor checksums: the proxy answers the HEAD as S3 does for such
      // an object; the GET (with versionId and If-Match) is s3rver's.
      const body = model['config.json']!
      const md5 = createHash('md5').update(body).digest('hex')
      const head = (checksum: string) => ({
        method: 'HEAD',
        path: /^\/models\/llm\/config\.json(\?|$)/,
        respond: {
          status: 200,
          headers: {
            'content-length': String(body.length),
            etag: `"${md5}"`,
            'x-amz-version-id': 'v3.Lf8',
            'x-amz-checksum-sha256': checksum,
            'x-amz-checksum-type': 'FULL_OBJECT',
          },
        },
      })
      proxy.setRules([head(createHash('sha256').update(body).digest('base64'))])
      proxy.requests.length = 0
      try {
        const r = await recipe(s3Entry('models', 'llm', '    include: ["config.json"]\n', proxy.url))
        const result = await mustModelcar(['run', r.file], { env: env() })
        const layer = (await readJsonBlob(r.out, printedDigest(result))).layers![0]!
        expect(layer.annotations?.['modelcar.origin']).toBe('s3://models/llm/config.json?versionId=v3.Lf8')
        expect(layer.annotations?.['modelcar.content.digest']).toBe(`sha256:${sha(body)}`)
        const get = proxy.requests.find((q) => q.method === 'GET' && q.path.startsWith('/models/llm/config.json?'))
        expect(get?.path).toContain('versionId=v3.Lf8')
        expect(get?.ifMatch).toBe(`"${md5}"`)

        // The same object claiming another checksum: the bytes do not match it, the run fails.
        proxy.setRules([head(createHash('sha256').update('other').digest('base64'))])
        const bad = await recipe(s3Entry('models', 'llm', '    include: ["config.json"]\n', proxy.url))
        const failed = await modelcar(['run', bad.file], { env: env() })
        expect(failed.code, failed.stderr).toBe(1)
        expect(failed.stderr).toMatch(/`config.json` has digest `sha256:[0-9a-f]{64}` but the source announced `sha256:[0-9a-f]{64}`/)
        await expect(stat(join(bad.out, 'index.json'))).rejects.toThrow()
      } finally {
        proxy.setRules([])
      }
    },
    SLOW,
  )

  /** Runs a recipe that must fail: its exit code and stderr; nothing written; no secret anywhere. */
  async function failing(sources: string, e = env()): Promise<{ code: number; stderr: string }> {
    const r = await recipe(sources)
    const result = await modelcar(['run', r.file], { env: e })
    const all = `${result.stdout}${result.stderr}`
    expect(all).not.toContain(ENV_SECRET)
    expect(all).not.toContain(FILE_SECRET)
    // Nothing committed: no layout at all when it failed before reading, else no index naming an image.
    await expect(stat(join(r.out, 'index.json'))).rejects.toThrow()
    if (result.code === 2) await expect(stat(r.out)).rejects.toThrow()
    return { code: result.code, stderr: result.stderr }
  }

  it.each([
    [
      'a missing bucket',
      () => s3Entry('no-such-bucket', 'llm'),
      {},
      2,
      /bucket `no-such-bucket` does not exist at http:\/\/127\.0\.0\.1:\d+ \[404\]/,
      /check `bucket`/,
    ],
    ['a prefix that matches nothing', () => s3Entry('models', 'lmm'), {}, 2, /no object under `s3:\/\/models\/lmm\/`/, /check `prefix`/],
    [
      'an include that matches nothing',
      () => s3Entry('models', 'llm', '    include: ["*.json", "*.gguf"]\n'),
      {},
      2,
      /no file in `s3:\/\/models\/llm\/` matches `\*\.gguf`/,
      /include/,
    ],
    [
      'no credentials anywhere',
      () => s3Entry('models', 'llm'),
      { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined },
      2,
      /no AWS credentials found to read `s3:\/\/models\/llm\/`/,
      /AWS_ACCESS_KEY_ID/,
    ],
    [
      'a profile that does not exist',
      () => s3Entry('models', 'llm', '    profile: nope\n'),
      {},
      2,
      /no AWS credentials found/,
      /profile `nope`/,
    ],
    [
      'an endpoint nothing listens on',
      () => s3Entry('models', 'llm', '', 'http://127.0.0.1:9'),
      {},
      1,
      /cannot reach the S3 endpoint http:\/\/127\.0\.0\.1:9 for `s3:\/\/models\/llm\/` \(ECONNREFUSED\)/,
      /check `endpoint`/,
    ],
    [
      'a content sha256 that does not match',
      () => s3Entry('models', 'bad'),
      {},
      1,
      /`weights.bin` has digest `sha256:[0-9a-f]{64}` but the source announced/,
      /nothing was committed/,
    ],
  ])(
    '%s: a clear error',
    async (_what, sources, extraEnv, code, message, hint) => {
      const result = await failing(sources(), env(extraEnv))
      expect(result.code, result.stderr).toBe(code)
      expect(result.stderr).toMatch(message)
      expect(result.stderr).toMatch(hint)
    },
    SLOW,
  )

  // s3rver allows everything and knows one region: the proxy answers these as AWS S3 does.
  it.each([
    [
      'access denied (credentials from a profile file)',
      {
        method: 'GET',
        path: /list-type=2/,
        respond: { status: 403, headers: { 'content-type': 'application/xml' }, body: s3ErrorXml('AccessDenied', 'Access Denied') },
      },
      '    profile: ci\n',
      2,
      /access to `s3:\/\/models\/llm\/` is denied \[403, request id FAULTPROXY0001\]/,
      /credentials from profile `ci` .* need s3:ListBucket on bucket `models`/,
    ],
    [
      'access denied on one object',
      { method: 'HEAD', path: /^\/models\/llm\/config\.json/, respond: { status: 403 } },
      '',
      2,
      /access to `s3:\/\/models\/llm\/config\.json` is denied \[403/,
      /s3:GetObject/,
    ],
    [
      'the wrong region',
      {
        path: /list-type=2/,
        respond: {
          status: 301,
          headers: { 'x-amz-bucket-region': 'eu-central-1', 'content-type': 'application/xml' },
          body: s3ErrorXml('PermanentRedirect', 'The bucket you are attempting to access must be addressed using the specified endpoint.', {
            Endpoint: 'models.s3.eu-central-1.amazonaws.com',
            Bucket: 'models',
          }),
        },
      },
      '    region: us-east-1\n',
      2,
      /bucket `models` is not in region `us-east-1` \(from the recipe\): it is in `eu-central-1` \[301/,
      /set `region: eu-central-1`/,
    ],
    [
      'a key that would escape /models',
      {
        path: /list-type=2/,
        respond: {
          status: 200,
          headers: { 'content-type': 'application/xml' },
          body: '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>models</Name><Prefix>llm/</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated><Contents><Key>llm/config.json</Key><Size>1</Size><ETag>"aa"</ETag></Contents><Contents><Key>llm/../../etc/passwd</Key><Size>1</Size><ETag>"bb"</ETag></Contents></ListBucketResult>',
        },
      },
      '',
      2,
      /key `llm\/\.\.\/\.\.\/etc\/passwd` of bucket `models` would escape the model folder/,
      /rename the object, or leave it out with `exclude`/,
    ],
    [
      'an object replaced during the run (412 to If-Match)',
      {
        method: 'GET',
        path: /^\/models\/llm\/tokenizer\/vocab\.json\?/,
        header: { 'if-match': true },
        respond: {
          status: 412,
          headers: { 'content-type': 'application/xml' },
          body: s3ErrorXml('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
            Condition: 'If-Match',
          }),
        },
      },
      '',
      1,
      /object `s3:\/\/models\/llm\/tokenizer\/vocab\.json` was replaced during the run \(its ETag changed\) \[412/,
      /nothing was committed/,
    ],
  ] as const)(
    '%s: a clear error, nothing written, no secret shown',
    async (_what, rule, extra, code, message, hint) => {
      proxy.setRules([rule])
      try {
        const result = await failing(s3Entry('models', 'llm', extra, proxy.url))
        expect(result.code, result.stderr).toBe(code)
        expect(result.stderr).toMatch(message)
        expect(result.stderr).toMatch(hint)
      } finally {
        proxy.setRules([])
      }
    },
    SLOW,
  )

  it(
    'a file over 2 GiB streams through, its sha256 checked, resumed after a cut beyond 2^31 bytes',
    async () => {
      const size = 2 * 1024 ** 3 + 4099
      const sparse = join(tmp.path, 'big.safetensors')
      const fh = await open(sparse, 'w')
      await fh.truncate(size)
      await fh.close()
      const zeros = createHash('sha256')
      for await (const c of createReadStream(sparse, { highWaterMark: 4 << 20 })) zeros.update(c as Buffer)
      const digest = zeros.digest('hex')
      await putObjects(
        seed,
        'models',
        { 'big/big.safetensors': { file: sparse } },
        { metadata: { 'big/big.safetensors': { sha256: digest } } },
      )
      proxy.requests.length = 0
      proxy.setRules([{ method: 'GET', path: /^\/models\/big\/big\.safetensors\?/, cut: { afterBytes: 2 ** 31 + 1000 }, times: 1 }])
      try {
        const r = await recipe(s3Entry('models', 'big', '', proxy.url))
        const result = await mustModelcar(['run', r.file], { env: env() })
        const manifest = await readJsonBlob(r.out, printedDigest(result))
        const layer = manifest.layers![0]!
        expect(layer.annotations?.['org.opencontainers.image.title']).toBe('big.safetensors')
        expect(layer.annotations?.['modelcar.content.digest']).toBe(`sha256:${digest}`)
        const h = createHash('sha256')
        for await (const c of createReadStream(blobPath(r.out, layer.digest), { highWaterMark: 4 << 20 })) h.update(c as Buffer)
        expect(`sha256:${h.digest('hex')}`).toBe(layer.digest)
        expect((await stat(blobPath(r.out, layer.digest))).size).toBeGreaterThan(size)
      } finally {
        proxy.setRules([])
      }
      const gets = proxy.requests.filter((q) => q.method === 'GET' && q.path.startsWith('/models/big/big.safetensors?'))
      expect(gets.map((q) => q.cut)).toEqual([true, false])
      expect(gets[0]!.range).toBeUndefined()
      // The resume starts at the byte modelcar had when the connection broke. That is the cut
      // point, or a little before it: bytes the client's socket still held when the reset came are
      // dropped with the stream (Node discards a destroyed stream's buffer), so they are read again.
      const resumedAt = Number(/^bytes=(\d+)-$/.exec(gets[1]!.range ?? '')?.[1])
      expect(resumedAt).toBeLessThanOrEqual(2 ** 31 + 1000)
      expect(resumedAt).toBeGreaterThan(2 ** 31 + 1000 - (1 << 20))
    },
    SLOW,
  )
})
