// The client's rules that a plain registry does not exercise: one retry policy for bodies that can
// be sent again (Retry-After honoured, the last failure no longer retryable so nobody retries it
// again), a streamed body sent once, and uploads that ask for the bytes again through the contract
// (`{ streamAgain }`): a monolithic PUT that needs the digest first, a token that lapsed mid-stream.
// A small node:http server on loopback plays the registry and its token server; the fetch is real.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { isModelcarError, sha256Digest, type ModelcarError } from '@modelcar/core'
import { createRegistryAuth } from '../auth/registry-auth.js'
import { openUpload } from './blob-uploads.js'
import { RegistryClient } from './registry-client.js'

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void

interface Seen {
  method: string
  path: string
  authorization: string | undefined
  bytes: number
}

let server: Server
let url: string
let handler: Handler
/** Requests answered before their body is read: a registry that stops reading. */
let answerEarly: (req: IncomingMessage) => boolean = () => false
const seen: Seen[] = []

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = []
    if (answerEarly(req)) {
      seen.push({ method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization, bytes: -1 })
      return handler(req, res, Buffer.alloc(0))
    }
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      seen.push({ method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization, bytes: body.length })
      handler(req, res, body)
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => {
  server.close()
})
beforeEach(() => {
  seen.length = 0
  answerEarly = () => false
})

const fast = { attempts: 3, firstDelayMs: 1, maxDelayMs: 5, maxRetryAfterMs: 2_000 }

function client(extra: Partial<ConstructorParameters<typeof RegistryClient>[0]> = {}): RegistryClient {
  return new RegistryClient({
    baseUrl: url,
    registry: new URL(url).host,
    repository: 'r',
    auth: createRegistryAuth({ env: { HOME: '/nonexistent', REGISTRY_AUTH_FILE: '/nonexistent/auth.json' }, fetch, secret: () => {} }),
    fetch,
    push: true,
    policy: fast,
    ...extra,
  })
}

async function caught(p: Promise<unknown>): Promise<ModelcarError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(isModelcarError(err), `expected a ModelcarError, got ${String(err)}`).toBe(true)
  return err as ModelcarError
}

const busy = (status: number, retryAfter?: string) => (res: ServerResponse) => {
  res.writeHead(status, { 'content-type': 'application/json', ...(retryAfter ? { 'retry-after': retryAfter } : {}) })
  res.end(JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: 'busy' }] }))
}

describe('retries', () => {
  it('retry a request whose body can be sent again by the policy, waiting what Retry-After asks', async () => {
    let n = 0
    handler = (_req, res) => (++n === 1 ? busy(429, '1')(res) : res.writeHead(201).end())
    const retries: string[] = []
    const started = Date.now()
    await client({ onRetry: (what, retry, reason) => retries.push(`${retry} ${what}: ${reason}`) }).putManifest(
      'v1',
      Buffer.from('{}'),
      'application/vnd.oci.image.manifest.v1+json',
    )
    expect(Date.now() - started).toBeGreaterThanOrEqual(900)
    expect(seen.map((s) => s.bytes)).toEqual([2, 2])
    expect(retries).toHaveLength(1)
    expect(retries[0]).toMatch(
      /^1 PUT http:\/\/127\.0\.0\.1:\d+\/v2\/r\/manifests\/v1: \[PUT\] .*: 429 Too Many Requests: UNAVAILABLE busy/,
    )
  })

  it("give up after the policy's tries with an error no caller retries again, its facts typed", async () => {
    handler = (_req, res) => busy(503)(res)
    const err = await caught(client().hasBlob(sha256Digest('x')))
    expect(seen).toHaveLength(3)
    expect(err.code).toBe('REGISTRY_REFUSED')
    expect(err.retryable).toBe(false)
    expect(err.message).toMatch(/gave up after 3 tries/)
    expect(err.http).toMatchObject({ method: 'HEAD', status: 503 })
  })

  it('send a streamed body once: its retryable failure goes back to the caller (the engine streams the blob again)', async () => {
    handler = (_req, res) => busy(503, '2')(res)
    const body = new ReadableStream<Uint8Array>({ start: (c) => (c.enqueue(new Uint8Array(8)), c.close()) })
    const err = await caught(client().send('PATCH', '/v2/r/blobs/uploads/u1', { ok: [202], body }))
    expect(seen).toHaveLength(1)
    expect(err.retryable).toBe(true)
    expect(err.retryAfterMs).toBe(2000)
    expect(err.http).toMatchObject({ method: 'PATCH', status: 503, serverCodes: ['UNAVAILABLE'] })
  })

  it('name an unreachable registry with its error code, as REGISTRY_UNREACHABLE', async () => {
    const closed = createServer()
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r))
    const port = (closed.address() as AddressInfo).port
    await new Promise<void>((r) => closed.close(() => r()))
    const err = await caught(client({ baseUrl: `http://127.0.0.1:${port}` }).ping())
    expect(err.code).toBe('REGISTRY_UNREACHABLE')
    expect(err.message).toContain('ECONNREFUSED')
    expect(err.hint).toMatch(/is the registry running/)
    expect(err.http).toEqual({ method: 'GET', url: `http://127.0.0.1:${port}/v2/` })
  })
})

describe('uploads that need the bytes again', () => {
  const bytes = new Uint8Array(64 * 1024).fill(7)
  const digest = sha256Digest(bytes)

  it('a monolithic upload without the digest reads the blob, then asks for it again', async () => {
    handler = (_req, res) => res.writeHead(500).end()
    const probe = await openUpload(client(), { mode: 'monolithic', chunkBytes: 0, reason: 'test' }, {})
    await probe.write(bytes)
    expect(await probe.commit({ digest, size: bytes.byteLength })).toEqual({ streamAgain: expect.stringContaining(digest) })
    expect(seen).toEqual([]) // nothing was sent
  })

  it('a token that lapses mid-stream: the writes are taken, a new token is fetched, and the blob is asked for again', async () => {
    let issued = 0
    handler = (req, res) => {
      const path = req.url ?? ''
      if (path.startsWith('/token')) return res.writeHead(200, { 'content-type': 'application/json' }).end(`{"token":"t${++issued}"}`)
      if (req.headers.authorization !== `Bearer t${issued}` || (req.method === 'PATCH' && issued === 1)) {
        // The first token lapses at the first PATCH.
        res.writeHead(401, { 'www-authenticate': `Bearer realm="${url}/token",service="unit"`, connection: 'close' })
        return res.end()
      }
      if (path === '/v2/r/blobs/uploads/') return res.writeHead(202, { location: '/v2/r/blobs/uploads/u1' }).end()
      if (req.method === 'PATCH') return res.writeHead(202, { location: '/v2/r/blobs/uploads/u1?_state=2' }).end()
      res.writeHead(req.method === 'DELETE' ? 204 : 201).end()
    }
    // The 401 comes before the body is read: the request body is cancelled under the writes.
    answerEarly = (req) => req.method === 'PATCH'
    const c = client()
    await c.prepare()
    const upload = await openUpload(c, { mode: 'streamed', chunkBytes: 0, reason: 'test' }, {})
    for (let i = 0; i < 64; i++) await upload.write(bytes) // 4 MiB: more than the socket takes before the 401
    const answer = await upload.commit({ digest: sha256Digest(Buffer.concat(Array(64).fill(bytes))), size: 64 * bytes.byteLength })
    expect(answer).toEqual({ streamAgain: expect.stringMatching(/credentials again/) })
    expect(issued).toBe(2) // a new token is ready for the next pass
    expect(seen.filter((s) => s.method === 'PATCH').map((s) => s.authorization)).toEqual(['Bearer t1'])
    expect(seen.at(-1)).toMatchObject({ method: 'DELETE', path: '/v2/r/blobs/uploads/u1', authorization: 'Bearer t2' })
  })
})
