// Source `http` against a real local HTTP server (node:http, Range support, faults on demand):
// the conformance kit, a token header, resume after a cut connection, and sha256 checks.
import { createHash, randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { configFor, createCoreRegistry, parseRecipe, runRecipe, type ModelFile, type RunEvent } from '@modelcar/core'
import { assertSourceCompliance, memorySink, testContext } from '@modelcar/testing'
import { startFaultProxy } from '../../../tools/fault-proxy/fault-proxy.mjs'
import { startStaticServer, type StaticServer } from '../../../tools/static-http-server/static-http-server.mjs'
import httpSourceDefault, { httpSource } from './index.js'

const TOKEN = 'Bearer s3cr3t-token-value'
const content: Record<string, Buffer> = {
  'tiny/config.json': Buffer.from('{"hidden_size":8}\n'),
  'tiny/model.safetensors': randomBytes(300_000),
  'tiny/tokenizer/vocab.json': Buffer.from('{"a":0,"b":1}'),
  // Larger than the engine's 1 MiB read blocks, so a cut mid-file leaves bytes already taken.
  'big/weights.bin': randomBytes(3 << 20),
}
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const listing = {
  files: [
    { path: 'config.json' },
    { path: 'model.safetensors', sha256: sha(content['tiny/model.safetensors']!) },
    { path: 'tokenizer/vocab.json', size: 13 },
  ],
}

let open: StaticServer
let locked: StaticServer
beforeAll(async () => {
  open = await startStaticServer({ files: { ...content, 'tiny/listing.json': JSON.stringify(listing), 'tiny/broken.json': '{nope' } })
  locked = await startStaticServer({ files: content, requireHeader: ['authorization', TOKEN] })
})
afterAll(async () => {
  await open?.stop()
  await locked?.stop()
})

describe('source http', () => {
  it('is the package default export', () => {
    expect(httpSourceDefault).toBe(httpSource)
  })

  it('passes the conformance kit with a list of URLs (sizes from HEAD)', async () => {
    const report = await assertSourceCompliance(
      httpSource,
      {
        files: [
          { url: `${open.url}/tiny/config.json` },
          { url: `${open.url}/tiny/model.safetensors`, sha256: sha(content['tiny/model.safetensors']!) },
        ],
      },
      {
        failing: [
          { files: [{ url: `${open.url}/tiny/missing.bin` }] },
          { listing: `${open.url}/tiny/broken.json` },
          { files: [{ url: 'http://127.0.0.1:1/x.bin' }] },
        ],
      },
    )
    expect(report.files.map((f) => [f.path, f.size, f.digest !== undefined])).toEqual([
      ['config.json', 18, false],
      ['model.safetensors', 300_000, true],
    ])
    expect(open.requests.filter((r) => r.method === 'HEAD').length).toBeGreaterThanOrEqual(2)
    expect(open.requests.some((r) => r.range === 'bytes=150000-')).toBe(true)
  })

  it('passes the kit with a listing file, paths and `into`', async () => {
    const report = await assertSourceCompliance(httpSource, { listing: `${open.url}/tiny/listing.json`, into: 'tiny' })
    expect(report.files.map((f) => f.path)).toEqual(['tiny/config.json', 'tiny/model.safetensors', 'tiny/tokenizer/vocab.json'])
    expect(report.files.map((f) => f.sha256)).toEqual(
      ['tiny/config.json', 'tiny/model.safetensors', 'tiny/tokenizer/vocab.json'].map((p) => `sha256:${sha(content[p]!)}`),
    )
  })

  it('sends the headers, registers them as secrets, and never shows them in an error', async () => {
    const ctx = testContext()
    await assertSourceCompliance(
      httpSource,
      { files: [{ url: `${locked.url}/tiny/config.json` }], headers: { Authorization: TOKEN } },
      {
        context: () => ctx,
        failing: [{ files: [{ url: `${locked.url}/tiny/nothing-here` }], headers: { Authorization: TOKEN } }],
      },
    )
    expect([...new Set(ctx.secrets)]).toEqual([TOKEN])
    const err = await runPlan({ files: [{ url: `${locked.url}/tiny/config.json` }] }).catch((e: Error) => e)
    expect(err).toMatchObject({
      code: 'HTTP_REFUSED',
      phase: 'list',
      message: `[http] list failed: [HEAD] ${locked.url}/tiny/config.json: 401 Unauthorized`,
      http: { method: 'HEAD', url: `${locked.url}/tiny/config.json`, status: 401 },
    })
    expect((err as unknown as { hint: string }).hint).toContain('headers:')
  })

  it('never shows a header value in a recipe error, even a literal one', async () => {
    const err = await recipeOf(
      { files: [{ url: `${open.url}/tiny/config.json` }], headers: { Authorization: 87654321 } },
      memorySink(),
    ).catch((e: Error) => e)
    const text = JSON.stringify({ message: (err as Error).message, diagnostics: (err as unknown as { diagnostics: unknown }).diagnostics })
    expect(text).toContain('headers.Authorization')
    expect(text).toContain('(secret)')
    expect(text).not.toContain('87654321')
  })

  it('keeps the query of a URL (a presigned signature) out of messages', async () => {
    const err = await runPlan({ files: [{ url: `${open.url}/tiny/gone.bin?X-Amz-Signature=abcdef123456` }] }).catch((e: Error) => e)
    expect((err as Error).message).toBe(`[http] list failed: [HEAD] ${open.url}/tiny/gone.bin: 404 Not Found`)
  })

  it('works with a server that ignores Range and one whose HEAD has no length', async () => {
    const odd = await startStaticServer({ files: content, faults: { ignoreRange: true, noLengthOnHead: true } })
    try {
      await expect(assertSourceCompliance(httpSource, { files: [{ url: `${odd.url}/tiny/model.safetensors` }] })).rejects.toThrow(
        /does not say the file's size/,
      )
      const report = await assertSourceCompliance(httpSource, { files: [{ url: `${odd.url}/tiny/model.safetensors`, size: 300_000 }] })
      expect(report.files[0]!.sha256).toBe(`sha256:${sha(content['tiny/model.safetensors']!)}`)
    } finally {
      await odd.stop()
    }
  })

  it('resumes a cut download with a Range request and builds the same image as a clean run', async () => {
    const files = [{ url: `${open.url}/big/weights.bin`, sha256: sha(content['big/weights.bin']!) }]
    const clean = await run({ files })
    const cutAt = 1_600_000
    open.faults.cutAfter.set('/big/weights.bin', { bytes: cutAt, times: 1 })
    const before = open.requests.length
    const events: RunEvent[] = []
    const resumed = await run({ files }, events)
    expect(resumed.digest).toBe(clean.digest)
    expect(events.filter((e) => e.type === 'retry')).toHaveLength(1)
    const ranges = open.requests
      .slice(before)
      .filter((r) => r.method === 'GET')
      .map((r) => r.range)
    expect(ranges).toHaveLength(2)
    expect(ranges[0]).toBeUndefined()
    // Resumed after the bytes the engine had taken (whole blocks), not from the start.
    const from = Number(/^bytes=(\d+)-$/.exec(ranges[1] ?? '')?.[1])
    expect(from).toBeGreaterThanOrEqual(1 << 20)
    expect(from).toBeLessThanOrEqual(cutAt)
  })

  it('one attempt per open(): a 503 goes to the engine with its Retry-After, and the engine asks again', async () => {
    const proxy = await startFaultProxy({
      target: open.url,
      rules: [{ method: 'GET', path: '/tiny/config.json', respond: { status: 503, retryAfter: 0 }, times: 2 }],
    })
    try {
      const files = [{ url: `${proxy.url}/tiny/config.json`, size: 18 }]
      const [file] = await listed({ files })
      await expect(file!.open()).rejects.toMatchObject({
        code: 'HTTP_REFUSED',
        retryable: true,
        retryAfterMs: 0,
        http: { method: 'GET', status: 503, url: `${proxy.url}/tiny/config.json` },
      })
      expect(proxy.requests).toHaveLength(1)
      const events: RunEvent[] = []
      await run({ files }, events)
      expect(proxy.requests.map((r) => r.status)).toEqual([503, 503, 200])
      expect(events.filter((e) => e.type === 'retry')).toHaveLength(1)
    } finally {
      await proxy.stop()
    }
  })

  it('a redirect to another origin goes there without the headers, which stay on their origin', async () => {
    const proxy = await startFaultProxy({
      target: open.url,
      rules: [{ path: '/tiny/config.json', respond: { status: 302, headers: { location: `${locked.url}/tiny/config.json` } } }],
    })
    try {
      const before = locked.requests.length
      const err = await runPlan({ files: [{ url: `${proxy.url}/tiny/config.json` }], headers: { Authorization: TOKEN } }).catch(
        (e: Error) => e,
      )
      expect((err as Error).message).toBe(`[http] list failed: [HEAD] ${locked.url}/tiny/config.json: 401 Unauthorized`)
      expect(locked.requests.slice(before).map((r) => r.headers.authorization)).toEqual([undefined])
    } finally {
      await proxy.stop()
    }
  })

  it('fails the run on a sha256 mismatch, naming the file', async () => {
    const err = await run({ files: [{ url: `${open.url}/tiny/config.json`, sha256: '0'.repeat(64) }] }).catch((e: Error) => e)
    expect(err).toMatchObject({ code: 'SOURCE_DIGEST_MISMATCH', component: 'http', phase: 'read' })
    expect((err as Error).message).toMatch(
      /^\[http\] read failed: `config.json` has digest `sha256:[0-9a-f]{64}` but the source announced `sha256:0{64}`/,
    )
  })

  it('asks for `files` or `listing` when a recipe gives neither', async () => {
    await expect(runPlan({})).rejects.toMatchObject({
      code: 'COMPONENT_INVALID',
      input: true,
      phase: 'create',
      message: '[http] create failed: give `files` (a list of URLs) or `listing` (the URL of a JSON listing)',
    })
  })
})

async function recipeOf(config: Record<string, unknown>, sink: ReturnType<typeof memorySink>) {
  const text = `apiVersion: modelcar/v1\nsources:\n  - ${JSON.stringify({ type: 'http', ...config })}\nsinks:\n  - type: memory\n`
  return parseRecipe(text, '/nonexistent/recipe.yaml', { registry: createCoreRegistry().register(httpSource).register(sink) })
}

async function run(config: Record<string, unknown>, events: RunEvent[] = []) {
  const sink = memorySink()
  return runRecipe(await recipeOf(config, sink), { onEvent: (e) => events.push(e) })
}

async function runPlan(config: Record<string, unknown>) {
  return runRecipe(await recipeOf(config, memorySink()), { dryRun: true })
}

/** The files a config lists, with a test context (no recipe, no engine: open() is called as is). */
async function listed(config: Record<string, unknown>): Promise<ModelFile[]> {
  const instance = await httpSource.create(configFor(httpSource, config), testContext({ type: 'http' }))
  const files: ModelFile[] = []
  for await (const f of instance.list()) files.push(f)
  return files
}
