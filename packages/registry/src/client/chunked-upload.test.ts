// Chunked uploads that resume where the registry stands: after a 416 or a cut mid-PATCH the client
// asks `GET <location>` and sends the rest of the held chunk from the registry's byte; a registry
// that lost bytes the client no longer holds gets the blob streamed again; one that refuses
// forever ends with its own error after MAX_RESUMES. A small node:http server on loopback plays a
// registry that checks Content-Range as the spec asks (distribution 3): the fetch is real.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { isModelcarError, sha256Digest, type ModelcarError } from '@modelcar/core'
import { createRegistryAuth } from '../auth/registry-auth.js'
import { MAX_RESUMES, openUpload } from './blob-uploads.js'
import { RegistryClient, uploadedBytes } from './registry-client.js'

const CHUNK = 64 * 1024

interface Seen {
  method: string
  path: string
  contentRange?: string | undefined
  /** Body bytes the registry read (a cut request: those before the cut). */
  bytes: number
}

/** What a PATCH does instead of being taken whole: its number (1 for the first) and the registry's bytes. */
type PatchFault = (n: number) => { take: number; then: 'cut' | 416 | 400 } | undefined

let server: Server
let url: string
let stored: Buffer
let seen: Seen[]
let patchFault: PatchFault
/** The Range a status GET answers, from the bytes held. */
let statusRange: (size: number) => string
/** What a status GET says is held (a registry that lost bytes says less). */
let statusSize: (size: number) => number | 'gone'

function range(size: number): string {
  return `0-${Math.max(0, size - 1)}`
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const entry: Seen = { method: req.method ?? '', path: req.url ?? '', contentRange: req.headers['content-range'], bytes: 0 }
    seen.push(entry)
    if (req.method === 'PATCH') return patch(req, res, entry)
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => answer(req, res))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => {
  server.close()
})
beforeEach(() => {
  stored = Buffer.alloc(0)
  seen = []
  patchFault = () => undefined
  statusRange = range
  statusSize = (size) => size
})

const location = (res: ServerResponse) => res.setHeader('location', `/v2/r/blobs/uploads/u1?_state=${stored.length}`)

/** A PATCH: a start other than the bytes held is a 416 (the spec); a fault takes part of the body, then cuts or answers 416. */
function patch(req: IncomingMessage, res: ServerResponse, entry: Seen): void {
  const n = seen.filter((s) => s.method === 'PATCH').length
  const start = Number(/^(\d+)-/.exec(String(req.headers['content-range']))?.[1])
  const fault = start === stored.length ? patchFault(n) : { take: 0, then: 416 as const }
  const parts: Buffer[] = []
  req.on('data', (c: Buffer) => {
    const room = fault ? fault.take - entry.bytes : Infinity
    const part = c.subarray(0, Math.max(0, Math.min(room, c.length)))
    parts.push(part)
    entry.bytes += part.length
    if (fault?.then === 'cut' && entry.bytes >= fault.take) {
      stored = Buffer.concat([stored, ...parts.splice(0)])
      req.socket.destroy()
    }
  })
  req.on('end', () => {
    if (req.socket.destroyed) return
    stored = Buffer.concat([stored, ...parts])
    location(res)
    res.setHeader('range', range(stored.length))
    if (!fault) return res.writeHead(202).end()
    res.writeHead(fault.then === 400 ? 400 : 416, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ errors: [{ code: fault.then === 400 ? 'SIZE_INVALID' : 'RANGE_INVALID', message: 'refused' }] }))
  })
}

function answer(req: IncomingMessage, res: ServerResponse): unknown {
  if (req.method === 'POST') return (location(res), res.writeHead(202, { range: '0-0' }).end())
  if (req.url === '/v2/') return res.writeHead(200).end('{}')
  if (req.method === 'GET') {
    const size = statusSize(stored.length)
    if (size === 'gone')
      return res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"BLOB_UPLOAD_INVALID"}]}')
    location(res)
    return res.writeHead(204, { range: statusRange(size) }).end()
  }
  if (req.method === 'PUT') {
    const digest = new URL(req.url ?? '', url).searchParams.get('digest')
    return res.writeHead(digest === sha256Digest(stored) ? 201 : 400).end()
  }
  res.writeHead(204).end()
}

function client(): RegistryClient {
  return new RegistryClient({
    baseUrl: url,
    registry: new URL(url).host,
    repository: 'r',
    auth: createRegistryAuth({ env: { HOME: '/nonexistent', REGISTRY_AUTH_FILE: '/nonexistent/auth.json' }, fetch, secret: () => {} }),
    fetch,
    push: true,
    policy: { attempts: 3, firstDelayMs: 1, maxDelayMs: 5, maxRetryAfterMs: 100 },
  })
}

/** 3.5 chunks of distinct bytes, written in odd pieces. */
const blob = Buffer.from(Array.from({ length: CHUNK * 3.5 }, (_, i) => (i * 7 + (i >> 9)) % 251))
const expected = { digest: sha256Digest(blob), size: blob.length }

async function upload(): Promise<unknown> {
  const w = await openUpload(client(), { mode: 'chunked', chunkBytes: CHUNK, reason: 'test' }, {})
  for (let at = 0; at < blob.length; at += 10_000) await w.write(blob.subarray(at, at + 10_000))
  return w.commit(expected)
}

const methods = () => seen.map((s) => (s.method === 'PATCH' ? `PATCH ${s.contentRange}` : s.path === '/v2/' ? 'ping' : s.method))

describe('a chunked upload resumes where the registry stands', () => {
  it('after a 416 where the registry holds part of the chunk: the rest of the chunk goes from its byte', async () => {
    patchFault = (n) => (n === 2 ? { take: 1000, then: 416 } : undefined)
    expect(await upload()).toBeUndefined()
    expect(stored.equals(blob)).toBe(true)
    const c = CHUNK
    expect(methods()).toEqual([
      'POST',
      `PATCH 0-${c - 1}`,
      `PATCH ${c}-${2 * c - 1}`,
      'GET',
      `PATCH ${c + 1000}-${2 * c - 1}`,
      `PATCH ${2 * c}-${3 * c - 1}`,
      `PATCH ${3 * c}-${blob.length - 1}`,
      'PUT',
    ])
  })

  it('after a cut mid-PATCH: the PATCH is not sent again blind (no client retry), the registry is asked first', async () => {
    patchFault = (n) => (n === 3 ? { take: 20_000, then: 'cut' } : undefined)
    expect(await upload()).toBeUndefined()
    expect(stored.equals(blob)).toBe(true)
    const c = CHUNK
    expect(methods().slice(3, 6)).toEqual([`PATCH ${2 * c}-${3 * c - 1}`, 'GET', `PATCH ${2 * c + 20_000}-${3 * c - 1}`])
    expect(seen.filter((s) => s.method === 'PATCH')).toHaveLength(5)
  })

  it('a registry that lost bytes before the held chunk: the upload is dropped and the blob asked for again', async () => {
    patchFault = (n) => (n === 3 ? { take: 0, then: 'cut' } : undefined)
    statusSize = () => CHUNK // it forgets the second chunk
    expect(await upload()).toEqual({ streamAgain: expect.stringMatching(/holds 65536 bytes of the blob, fewer than the 131072 sent/) })
    // Nothing more is sent; the session is dropped and credentials made ready for the next pass.
    expect(methods().slice(4)).toEqual(['GET', 'DELETE', 'ping'])
  })

  it('a registry that dropped the session (404 on the status GET, as distribution 2.8 does): the blob is asked for again', async () => {
    patchFault = (n) => (n === 2 ? { take: 5000, then: 'cut' } : undefined)
    statusSize = () => 'gone'
    expect(await upload()).toEqual({ streamAgain: expect.stringMatching(/dropped the upload session/) })
    expect(methods().slice(3)).toEqual(['GET', 'DELETE', 'ping'])
  })

  it(`a registry that answers 416 forever: its own error, final, with the chunkSize hint, after ${MAX_RESUMES} resumes`, async () => {
    patchFault = (n) => (n >= 2 ? { take: 0, then: 416 } : undefined)
    const err = (await upload().catch((e: unknown) => e)) as ModelcarError
    expect(isModelcarError(err)).toBe(true)
    expect(err.message).toMatch(/\[PATCH\] .*: 416 .*RANGE_INVALID/)
    expect(err.message).toMatch(new RegExp(`resumed ${MAX_RESUMES} times`))
    expect(err.hint).toMatch(/chunkSize/)
    expect(err.retryable).toBe(false)
    expect(err.http?.status).toBe(416)
    expect(seen.filter((s) => s.method === 'PATCH')).toHaveLength(2 + MAX_RESUMES)
    expect(seen.filter((s) => s.method === 'GET')).toHaveLength(MAX_RESUMES)
  })

  it('a registry that takes a few bytes at each cut is making progress: the bound counts resumes without progress', async () => {
    patchFault = (n) => (n >= 2 && n <= 2 + MAX_RESUMES + 2 ? { take: 100, then: 'cut' } : undefined)
    expect(await upload()).toBeUndefined()
    expect(stored.equals(blob)).toBe(true)
  })

  it('a refusal no resume cures (400) fails at once, without asking the registry', async () => {
    patchFault = (n) => (n === 2 ? { take: 0, then: 400 } : undefined)
    const err = (await upload().catch((e: unknown) => e)) as ModelcarError
    expect(err.http?.status).toBe(400)
    expect(methods().filter((m) => m === 'GET')).toEqual([])
  })

  it('reads a Quay-style status Range (`bytes=0-<count>`) as the count', async () => {
    patchFault = (n) => (n === 2 ? { take: 3000, then: 'cut' } : undefined)
    statusRange = (size) => `bytes=0-${size}`
    expect(await upload()).toBeUndefined()
    expect(stored.equals(blob)).toBe(true)
    expect(methods()).toContain(`PATCH ${CHUNK + 3000}-${2 * CHUNK - 1}`)
  })
})

describe('uploadedBytes', () => {
  it.each([
    ['0-99', 100],
    ['0-0', 0], // distribution: no bytes (and one byte)
    ['bytes=0-100', 100], // Quay's status answer: the count, one off
    ['bytes=0--1', 0], // Quay's empty upload
    ['0--1', 0],
    [' 0-65535 ', 65536],
  ])('%s → %d', (header, bytes) => {
    expect(uploadedBytes(header)).toBe(bytes)
  })

  it.each([null, '', '5-9', 'bytes 0-9', '0-x'])('%s → undefined', (header) => {
    expect(uploadedBytes(header)).toBeUndefined()
  })
})
