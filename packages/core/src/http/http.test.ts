import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ModelcarError } from '../errors/modelcar-error.js'
import { fetchFollowing } from './follow-redirects.js'
import { httpRefusal, httpUnreachable } from './http-errors.js'
import { redactUrl } from './redact-url.js'
import { DEFAULT_RETRY_POLICY, parseRetryAfter, retryDelayMs, withRetries } from './retry-policy.js'
import { isRetryable } from './retryable.js'
import { retryingFetch } from './retrying-fetch.js'

const fast = { attempts: 3, firstDelayMs: 1, maxDelayMs: 4, maxRetryAfterMs: 50 }

describe('retry policy', () => {
  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('7')).toBe(7000)
    expect(parseRetryAfter(new Date(Date.now() + 3000).toUTCString())).toBeGreaterThan(1000)
    expect(parseRetryAfter('soon')).toBeUndefined()
    expect(parseRetryAfter(null)).toBeUndefined()
  })

  it('waits what the server asked (capped), else doubles from the first delay', () => {
    expect(retryDelayMs(1)).toBe(DEFAULT_RETRY_POLICY.firstDelayMs)
    expect(retryDelayMs(3)).toBe(DEFAULT_RETRY_POLICY.firstDelayMs * 4)
    expect(retryDelayMs(30)).toBe(DEFAULT_RETRY_POLICY.maxDelayMs)
    expect(retryDelayMs(1, new ModelcarError('X', 'busy', { retryAfterMs: 2000 }))).toBe(2000)
    expect(retryDelayMs(1, new ModelcarError('X', 'busy', { retryAfterMs: 10_000_000 }))).toBe(DEFAULT_RETRY_POLICY.maxRetryAfterMs)
  })

  it('retries do not multiply: what an inner loop gives up on, an outer loop does not try again', async () => {
    let calls = 0
    const inner = () =>
      withRetries(
        async () => {
          calls++
          throw Object.assign(new Error('reset'), { code: 'ECONNRESET' })
        },
        { policy: fast },
      )
    const err = await withRetries(inner, { policy: fast }).catch((e: unknown) => e)
    expect(calls).toBe(3)
    expect(isRetryable(err)).toBe(false)
    expect((err as Error).message).toBe('reset (gave up after 3 tries)')
  })

  it('a failure no retry cures is thrown at once', async () => {
    let calls = 0
    await expect(
      withRetries(
        async () => {
          calls++
          throw new ModelcarError('X', 'denied')
        },
        { policy: fast },
      ),
    ).rejects.toThrow('denied')
    expect(calls).toBe(1)
  })
})

describe('URLs and errors', () => {
  it('a URL in a message has no query and no user info', () => {
    expect(redactUrl('https://user:pw@cdn.example/blob/x?X-Amz-Signature=abc')).toBe('https://cdn.example/blob/x')
    expect(redactUrl('not a url?token=1')).toBe('not a url')
  })

  it('a refusal carries typed facts', () => {
    const res = new Response('busy', {
      status: 503,
      statusText: 'Service Unavailable',
      headers: { 'retry-after': '3', 'x-request-id': 'r-1' },
    })
    const err = httpRefusal(res, 'GET', 'https://hub.example/a?sig=1', { detail: 'try later' })
    expect(err).toMatchObject({
      code: 'HTTP_REFUSED',
      message: '[GET] https://hub.example/a: 503 Service Unavailable: try later [request id r-1]',
      retryable: true,
      retryAfterMs: 3000,
      http: { method: 'GET', url: 'https://hub.example/a', status: 503, requestId: 'r-1' },
    })
    expect(httpRefusal(new Response('', { status: 404 }), 'GET', 'https://x/y').retryable).toBe(false)
  })

  it('no answer: refused connections are not retried, cut ones are', () => {
    const refused = httpUnreachable(
      Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' } }),
      'GET',
      'http://127.0.0.1:1/v2/',
    )
    expect(refused).toMatchObject({ code: 'HTTP_UNREACHABLE', retryable: false, hint: expect.stringContaining('nothing listens') })
    expect(httpUnreachable(Object.assign(new Error('x'), { code: 'ECONNRESET' }), 'GET', 'http://h/').retryable).toBe(true)
  })
})

describe('redirects and retrying fetch, against a real server', () => {
  let a: Server
  let b: Server
  let urlA = ''
  let urlB = ''
  const seen: { server: string; path: string; auth: string | undefined; method: string }[] = []
  let busy = 0

  type Answer = { status: number; headers?: Record<string, string>; body?: string }
  const listen = (name: string, handle: (req: IncomingMessage) => Answer) => {
    const server = createServer((req, res) => {
      seen.push({ server: name, path: req.url ?? '', auth: req.headers.authorization, method: req.method ?? '' })
      req.resume()
      const out = handle(req)
      res.writeHead(out.status, out.headers).end(out.body ?? '')
    })
    return new Promise<Server>((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
  }

  beforeAll(async () => {
    a = await listen('a', (req): Answer => {
      if (req.url === '/to-b') return { status: 302, headers: { location: `${urlB}/file` } }
      if (req.url === '/to-self') return { status: 307, headers: { location: '/file' } }
      if (req.url === '/see-other') return { status: 303, headers: { location: '/file' } }
      if (req.url === '/busy' && busy-- > 0) return { status: 503, headers: { 'retry-after': '0' } }
      return { status: 200, body: 'ok' }
    })
    b = await listen('b', () => ({ status: 200, body: 'from b' }))
    urlA = `http://127.0.0.1:${(a.address() as AddressInfo).port}`
    urlB = `http://127.0.0.1:${(b.address() as AddressInfo).port}`
  })
  afterAll(() => {
    a.close()
    b.close()
  })

  it('credentials stay on their origin: the hop to another origin goes without them', async () => {
    seen.length = 0
    const { response, url } = await fetchFollowing(fetch, `${urlA}/to-b`, { headers: { authorization: 'Bearer secret', cookie: 'c=1' } })
    expect(await response.text()).toBe('from b')
    expect(url.origin).toBe(urlB)
    expect(seen).toEqual([
      { server: 'a', path: '/to-b', auth: 'Bearer secret', method: 'GET' },
      { server: 'b', path: '/file', auth: undefined, method: 'GET' },
    ])
  })

  it('keeps them on the same origin, and 303 turns a POST into a GET', async () => {
    seen.length = 0
    await (await fetchFollowing(fetch, `${urlA}/to-self`, { headers: { authorization: 'Basic x' } })).response.text()
    await (await fetchFollowing(fetch, `${urlA}/see-other`, { method: 'POST', body: 'x' })).response.text()
    expect(seen.map((s) => `${s.method} ${s.path} ${s.auth ?? '-'}`)).toEqual([
      'GET /to-self Basic x',
      'GET /file Basic x',
      'POST /see-other -',
      'GET /file -',
    ])
  })

  it('retryingFetch asks again after a 503 with Retry-After, and gives the last answer', async () => {
    busy = 2
    const retries: string[] = []
    const f = retryingFetch(fetch, { policy: fast, onRetry: (what, n, reason) => retries.push(`${n} ${reason}`) })
    const res = await f(`${urlA}/busy`)
    expect(res.status).toBe(200)
    expect(retries).toEqual(['1 503 Service Unavailable', '2 503 Service Unavailable'])
    busy = 5
    expect((await f(`${urlA}/busy`)).status).toBe(503)
  })
})
