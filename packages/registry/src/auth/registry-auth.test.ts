// The rules of createRegistryAuth that a real registry does not exercise: redirects to storage,
// plain HTTP off loopback, 403, streamed bodies, scope normalisation. Small node:http servers on
// loopback play registry and storage; the fetch is the real one.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { basicAuth, expectAuthError, writeJson } from '../../../../test/registry-auth/support.js'
import { createRegistryAuth } from './registry-auth.js'
import { normalizeScopes } from './scopes.js'

const PASSWORD = 'unit-Pass-42'
const GOOD = `Basic ${basicAuth('u', PASSWORD)}`

interface Seen {
  method: string
  path: string
  authorization: string | undefined
}

async function listen(
  handler: (req: IncomingMessage, res: ServerResponse, body: string) => void,
): Promise<{ server: Server; url: string; seen: Seen[] }> {
  const seen: Seen[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      seen.push({ method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization })
      handler(req, res, Buffer.concat(chunks).toString())
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen }
}

let dir: string
let storage: Awaited<ReturnType<typeof listen>>
let registry: Awaited<ReturnType<typeof listen>>
let authFile: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelcar-auth-unit-'))
  storage = await listen((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' })
    res.end('blob bytes')
  })
  registry = await listen((req, res, body) => {
    const path = req.url ?? ''
    if (req.headers.authorization !== GOOD) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="unit"', 'content-type': 'application/json' })
      return res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}')
    }
    if (path === '/v2/') return res.writeHead(200).end('{}')
    if (path === '/v2/r/blobs/uploads/') return res.writeHead(202, { 'x-body-length': String(body.length) }).end()
    if (path.startsWith('/v2/r/blobs/')) return res.writeHead(307, { location: `${storage.url}/bucket/blob?sig=abc` }).end()
    if (path === '/v2/r/same-origin-redirect') return res.writeHead(302, { location: '/v2/' }).end()
    if (path === '/v2/denied/manifests/x') {
      res.writeHead(403, { 'content-type': 'application/json' })
      return res.end('{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}')
    }
    res.writeHead(404).end()
  })
  authFile = await writeJson(join(dir, 'auth.json'), {
    auths: { [new URL(registry.url).host]: { auth: basicAuth('u', PASSWORD) }, 'reg.test:5999': { auth: basicAuth('u', PASSWORD) } },
  })
})
afterAll(async () => {
  registry.server.close()
  storage.server.close()
  await rm(dir, { recursive: true, force: true })
})

const newAuth = (extra: Partial<Parameters<typeof createRegistryAuth>[0]> = {}) =>
  createRegistryAuth({ env: { HOME: dir, REGISTRY_AUTH_FILE: authFile }, fetch, secret: () => {}, ...extra })

describe('redirects', () => {
  it('follow a blob redirect to storage without the Authorization header', async () => {
    const auth = newAuth()
    storage.seen.length = 0
    const res = await auth.fetch(`${registry.url}/v2/r/blobs/sha256:abc`, { method: 'GET' }, ['repository:r:pull'])
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('blob bytes')
    expect(storage.seen).toEqual([{ method: 'GET', path: '/bucket/blob?sig=abc', authorization: undefined }])
    expect(registry.seen.at(-1)).toMatchObject({ path: '/v2/r/blobs/sha256:abc', authorization: GOOD })
  })

  it('keep Authorization on a redirect within the registry origin', async () => {
    const auth = newAuth()
    const res = await auth.fetch(`${registry.url}/v2/r/same-origin-redirect`, { method: 'GET' }, ['repository:r:pull'])
    expect(res.status).toBe(200)
    expect(registry.seen.at(-1)).toEqual({ method: 'GET', path: '/v2/', authorization: GOOD })
  })

  it("send a streamed body with redirect 'error' (no tee of the stream), so a redirect rejects and reaches nobody", async () => {
    const auth = newAuth()
    await auth.prepare(registry.url, ['repository:r:pull,push'])
    storage.seen.length = 0
    const body = new ReadableStream<Uint8Array>({ start: (c) => (c.enqueue(new Uint8Array(16)), c.close()) })
    await expect(
      auth.fetch(`${registry.url}/v2/r/blobs/sha256:abc`, { method: 'PUT', body, duplex: 'half' } as RequestInit, [
        'repository:r:pull,push',
      ]),
    ).rejects.toThrow()
    expect(storage.seen).toEqual([])
  })

  it("return the 3xx as is with redirect: 'manual'", async () => {
    const auth = newAuth()
    const res = await auth.fetch(`${registry.url}/v2/r/blobs/sha256:abc`, { method: 'GET', redirect: 'manual' }, ['repository:r:pull'])
    expect(res.status).toBe(307)
    expect(res.headers.get('location')).toContain(storage.url)
  })
})

describe('plain HTTP', () => {
  // reg.test stands for a non-loopback host: the fetch routes it to the loopback test server.
  const routed: typeof globalThis.fetch = (input, init) =>
    fetch(String(input instanceof Request ? input.url : input).replace('http://reg.test:5999', registry.url), init)

  it('never sends credentials off loopback over http unless the host was declared insecure', async () => {
    const before = registry.seen.length
    const err = await expectAuthError(() => newAuth({ fetch: routed }).fetch('http://reg.test:5999/v2/', { method: 'GET' }, []), [PASSWORD])
    expect(err.code).toBe('REGISTRY_CREDENTIALS_INSECURE')
    expect(err.message).toContain('`reg.test:5999`')
    // Only the unauthenticated probe reached the server.
    expect(registry.seen.slice(before).map((s) => s.authorization)).toEqual([undefined])
    const ok = await newAuth({ fetch: routed, insecureHosts: ['reg.test:5999'] }).fetch('http://reg.test:5999/v2/', { method: 'GET' }, [])
    expect(ok.status).toBe(200)
  })
})

describe('refusals and bodies', () => {
  it('a 403 is "denied" with the status and the registry\'s code', async () => {
    const err = await expectAuthError(
      () => newAuth().fetch(`${registry.url}/v2/denied/manifests/x`, { method: 'PUT', body: '{}' }, ['repository:denied:pull,push']),
      [PASSWORD],
    )
    expect(err.code).toBe('REGISTRY_ACCESS_DENIED')
    expect(err.message).toContain('`denied` (pull,push)')
    expect(err.message).toContain('[403 PUT')
    expect(err.message).toContain('DENIED: requested access to the resource is denied')
  })

  it("replays a string body after the challenge; returns a streamed body's first 401 for the caller to re-stream", async () => {
    const replay = await newAuth().fetch(`${registry.url}/v2/r/blobs/uploads/`, { method: 'POST', body: 'abc' }, ['repository:r:pull,push'])
    expect(replay.status).toBe(202)
    expect(replay.headers.get('x-body-length')).toBe('3')

    const auth = newAuth()
    const stream = () => new ReadableStream<Uint8Array>({ start: (c) => (c.enqueue(new TextEncoder().encode('abcd')), c.close()) })
    const init = () => ({ method: 'POST', body: stream(), duplex: 'half' }) as RequestInit
    const first = await auth.fetch(`${registry.url}/v2/r/blobs/uploads/`, init(), ['repository:r:pull,push'])
    expect(first.status).toBe(401)
    await auth.prepare(registry.url, ['repository:r:pull,push'])
    const second = await auth.fetch(`${registry.url}/v2/r/blobs/uploads/`, init(), ['repository:r:pull,push'])
    expect(second.status).toBe(202)
    expect(second.headers.get('x-body-length')).toBe('4')
  })
})

describe('identity tokens and Basic', () => {
  it('an identity token against a Basic registry is a clear failure, not a loop', async () => {
    const file = await writeJson(join(dir, 'identity-only.json'), {
      auths: { [new URL(registry.url).host]: { identitytoken: 'idtok-secret-1' } },
    })
    const auth = createRegistryAuth({ env: { HOME: dir, REGISTRY_AUTH_FILE: file }, fetch, secret: () => {} })
    const before = registry.seen.length
    const err = await expectAuthError(() => auth.fetch(`${registry.url}/v2/`, { method: 'GET' }, []), ['idtok-secret-1'])
    expect(err.code).toBe('REGISTRY_AUTH_FAILED')
    expect(err.message).toContain('holds only an identity token')
    expect(registry.seen.length - before).toBe(1)
    const viaPrepare = await expectAuthError(() => auth.prepare(registry.url, []), ['idtok-secret-1'])
    expect(viaPrepare.message).toContain('holds only an identity token')
  })
})

describe('normalizeScopes', () => {
  it('merges actions per repository and sorts, so equal requests share a cached token', () => {
    expect(normalizeScopes(['repository:b:pull', 'repository:a:push', 'repository:a:pull', 'repository:b:pull'])).toEqual([
      'repository:a:pull,push',
      'repository:b:pull',
    ])
    expect(normalizeScopes(['registry:catalog:*', 'repository:x:pull'])).toEqual(['registry:catalog:*', 'repository:x:pull'])
  })
})
