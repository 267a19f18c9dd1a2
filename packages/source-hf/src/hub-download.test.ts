// openHubFile against two real local servers (a Hub and a CDN on another origin): one request per
// open, a busy answer handed to the engine with its Retry-After, the token kept on the Hub's
// origin, and the Hub's ETag checked against what was listed.
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ModelcarError } from '@modelcar/core'
import { refusalError, type HubAsk } from './hub-errors.js'
import { openHubFile, type OpenParams } from './hub-download.js'

const TOKEN = 'hf_downloadtoken000000'
const BYTES = Buffer.from('0123456789abcdef')
const ETAG = '"a1b2c3"'

type Answer = { status: number; headers?: Record<string, string>; body?: Buffer | string }
const seen: { server: string; path: string; auth: string | undefined; range: string | undefined }[] = []
let answers: Record<string, Answer[]> = {}
let hub: Server
let cdn: Server
let hubUrl = ''
let cdnUrl = ''

function listen(name: string): Promise<Server> {
  const server = createServer((req: IncomingMessage, res) => {
    seen.push({ server: name, path: req.url ?? '', auth: req.headers.authorization, range: req.headers.range })
    const planned = answers[`${name}${req.url}`]?.shift()
    if (planned) return void res.writeHead(planned.status, planned.headers).end(planned.body ?? '')
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '')
    const from = m ? Number(m[1]) : 0
    res
      .writeHead(m ? 206 : 200, {
        etag: ETAG,
        ...(m ? { 'content-range': `bytes ${from}-${BYTES.length - 1}/${BYTES.length}` } : {}),
      })
      .end(BYTES.subarray(from))
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}

beforeAll(async () => {
  hub = await listen('hub')
  cdn = await listen('cdn')
  hubUrl = `http://127.0.0.1:${(hub.address() as AddressInfo).port}`
  cdnUrl = `http://127.0.0.1:${(cdn.address() as AddressInfo).port}`
})
afterAll(() => {
  hub.close()
  cdn.close()
})

const ask: HubAsk = {
  repo: { id: 'org/m', kind: 'model', type: 'model', name: 'org/m', webUrl: 'https://hub.example/org/m' },
  revision: 'main',
  token: { token: TOKEN, from: 'HF_TOKEN' },
}
const params = (over: Partial<OpenParams> = {}): OpenParams => ({
  fetch,
  url: `${hubUrl}/org/m/resolve/${'c'.repeat(40)}/w.bin`,
  token: TOKEN,
  start: 0,
  etags: [ETAG],
  signal: undefined,
  refused: (r) => refusalError(r, ask),
  ...over,
})

async function read(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = []
  for await (const c of body) chunks.push(c)
  return Buffer.concat(chunks)
}

describe('openHubFile', () => {
  it('a 503 with Retry-After is one request and a retryable error carrying the wait; the engine decides', async () => {
    seen.length = 0
    answers = { [`hub/org/m/resolve/${'c'.repeat(40)}/w.bin`]: [{ status: 503, headers: { 'retry-after': '7', 'x-request-id': 'r-9' } }] }
    const err = await openHubFile(params()).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ModelcarError)
    expect(err).toMatchObject({
      retryable: true,
      retryAfterMs: 7000,
      http: { method: 'GET', status: 503, requestId: 'r-9', url: `${hubUrl}/org/m/resolve/${'c'.repeat(40)}/w.bin` },
    })
    expect(seen).toHaveLength(1)
    // The next open is the engine's retry: it reads the file.
    expect((await read(await openHubFile(params()))).equals(BYTES)).toBe(true)
  })

  it('a 429 says the Hub is rate limiting, and carries the wait asked for', async () => {
    answers = { [`hub/org/m/resolve/${'c'.repeat(40)}/w.bin`]: [{ status: 429, headers: { 'retry-after': '300' } }] }
    const err = (await openHubFile(params()).catch((e: unknown) => e)) as ModelcarError
    expect(err.message).toMatch(/^the Hub is rate limiting requests for .*\/w\.bin \[429\]$/)
    expect([err.retryable, err.retryAfterMs, err.input]).toEqual([true, 300_000, false])
    expect(err.hint).toBe('it asked for a pause of 300 s; wait and run again; a token (HF_TOKEN) gives higher limits')
  })

  it('follows the Hub’s redirect to the CDN without the token, and resumes there with a Range', async () => {
    seen.length = 0
    const path = `/org/m/resolve/${'c'.repeat(40)}/w.bin`
    answers = { [`hub${path}`]: [{ status: 302, headers: { location: `${cdnUrl}/blob?X-Amz-Signature=s`, 'x-linked-etag': ETAG } }] }
    expect((await read(await openHubFile(params({ start: 10 })))).equals(BYTES.subarray(10))).toBe(true)
    expect(seen).toEqual([
      { server: 'hub', path, auth: `Bearer ${TOKEN}`, range: 'bytes=10-' },
      { server: 'cdn', path: '/blob?X-Amz-Signature=s', auth: undefined, range: 'bytes=10-' },
    ])
  })

  it('refuses content whose ETag on the Hub is not the one listed', async () => {
    const path = `/org/m/resolve/${'c'.repeat(40)}/w.bin`
    answers = { [`hub${path}`]: [{ status: 302, headers: { location: `${cdnUrl}/blob`, 'x-linked-etag': '"other"' } }] }
    await expect(openHubFile(params())).rejects.toMatchObject({ code: 'SOURCE_DIGEST_MISMATCH', retryable: false })
  })

  it('a refused CDN link shows no signature, and a Hub that cannot be reached says so', async () => {
    answers = {
      [`hub/org/m/resolve/${'c'.repeat(40)}/w.bin`]: [{ status: 302, headers: { location: `${cdnUrl}/blob?X-Amz-Signature=secret` } }],
      'cdn/blob?X-Amz-Signature=secret': [{ status: 500, body: 'boom' }],
    }
    const err = (await openHubFile(params()).catch((e: unknown) => e)) as ModelcarError
    expect(err.message).toBe(`the Hub answered 500 for ${cdnUrl}/blob: boom [500]`)
    expect(err.retryable).toBe(true)
    const closed = await listen('closed')
    const nowhere = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/org/m/resolve/x/w.bin`
    await new Promise((resolve) => closed.close(resolve))
    const down = (await openHubFile(params({ url: nowhere })).catch((e: unknown) => e)) as ModelcarError
    expect(down).toMatchObject({
      code: 'HTTP_UNREACHABLE',
      retryable: false,
      http: { method: 'GET', url: nowhere },
    })
    expect(down.message.startsWith(`cannot reach the Hub: [GET] ${nowhere}: ECONNREFUSED`)).toBe(true)
    expect(down.hint).toContain('nothing listens')
    expect(JSON.stringify([err.message, down.message, err.hint, down.hint])).not.toContain(TOKEN)
  })
})
