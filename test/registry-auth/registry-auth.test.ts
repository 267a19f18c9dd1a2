// createRegistryAuth against Debian's docker-registry 2.8.2 on loopback: no auth, htpasswd Basic,
// and Bearer tokens from tools/token-server — with the requests a push makes (GET /v2/, POST an
// upload, PUT a monolithic blob, HEAD it, PUT a manifest), and skopeo reading what we pushed.
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRegistryAuth, type RegistryAuth } from '@modelcar/registry'
import { startRegistry, type Registry } from '../../tools/harness/registry.js'
import { tempDir, type TempDir } from '../../tools/harness/temp.js'
import { run, skopeoInspect } from '../../tools/harness/tools.js'
import { startTokenServer, type TokenServer } from '../../tools/token-server/token-server.mjs'
import { sha256 } from '../e2e/support.js'
import { basicAuth, expectAuthError, recordingFetch, writeCredentialHelper, writeJson, type WireRecord } from './support.js'

const PUSH = (repo: string) => [`repository:${repo}:pull,push`]
const PULL = (repo: string) => [`repository:${repo}:pull`]

let work: TempDir
beforeAll(async () => {
  work = await tempDir('registry-auth')
})
afterAll(async () => {
  await work?.cleanup()
})

interface Client {
  auth: RegistryAuth
  wire: WireRecord[]
  secrets: string[]
}

let clientCount = 0
/** A RegistryAuth whose only credentials are `auths` in its own REGISTRY_AUTH_FILE. */
async function clientWith(auths: Record<string, unknown>, extraEnv: Record<string, string> = {}): Promise<Client> {
  const file = await writeJson(join(work.path, `client-${++clientCount}`, 'auth.json'), { auths })
  const { fetch, wire } = recordingFetch()
  const secrets: string[] = []
  const auth = createRegistryAuth({
    env: { HOME: join(work.path, 'no-home'), PATH: process.env.PATH, REGISTRY_AUTH_FILE: file, ...extraEnv },
    fetch,
    secret: (v) => secrets.push(v),
  })
  return { auth, wire, secrets }
}

/** POST an upload, PUT the bytes with their digest (monolithic), HEAD the blob: the statuses seen. */
async function pushBlob(auth: RegistryAuth, registry: Registry, repo: string, bytes: Uint8Array): Promise<string> {
  const digest = sha256(bytes)
  const start = await auth.fetch(
    `${registry.url}/v2/${repo}/blobs/uploads/`,
    { method: 'POST', headers: { 'content-length': '0' } },
    PUSH(repo),
  )
  expect(start.status).toBe(202)
  await start.body?.cancel()
  const location = new URL(start.headers.get('location')!, registry.url).href
  const put = await auth.fetch(
    `${location}${location.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`,
    { method: 'PUT', body: bytes, headers: { 'content-type': 'application/octet-stream' } },
    PUSH(repo),
  )
  expect(put.status).toBe(201)
  expect(put.headers.get('docker-content-digest')).toBe(digest)
  await put.body?.cancel()
  const head = await auth.fetch(`${registry.url}/v2/${repo}/blobs/${digest}`, { method: 'HEAD' }, PULL(repo))
  expect(head.status).toBe(200)
  expect(head.headers.get('content-length')).toBe(String(bytes.length))
  return digest
}

/** A minimal image (empty tar layer, config, manifest) so that skopeo has something to read. */
async function pushImage(auth: RegistryAuth, registry: Registry, repo: string, tag: string): Promise<string> {
  const layer = new Uint8Array(1024) // two zero blocks: an empty tar
  const layerDigest = await pushBlob(auth, registry, repo, layer)
  const config = new TextEncoder().encode(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layerDigest] }, config: {} }),
  )
  const configDigest = await pushBlob(auth, registry, repo, config)
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length }],
  })
  const res = await auth.fetch(
    `${registry.url}/v2/${repo}/manifests/${tag}`,
    { method: 'PUT', body: manifest, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } },
    PUSH(repo),
  )
  expect(res.status).toBe(201)
  await res.body?.cancel()
  return sha256(manifest)
}

const randomBlob = (n = 4096) => crypto.getRandomValues(new Uint8Array(n))

// ---------------------------------------------------------------------------------------------

describe('a registry without auth', () => {
  let registry: Registry
  beforeAll(async () => {
    registry = await startRegistry()
  })
  afterAll(async () => {
    await registry?.stop()
  })

  it('pushes and reads with no Authorization, even when credentials exist for the host', async () => {
    const c = await clientWith({ [registry.host]: { auth: basicAuth('someone', 'unused-pass-1') } })
    await c.auth.prepare(registry.url, PUSH('open/model'))
    await pushBlob(c.auth, registry, 'open/model', randomBlob())
    expect(c.wire.length).toBeGreaterThan(3)
    expect(c.wire.filter((w) => w.authorization !== 'none')).toEqual([])
    expect(c.wire.filter((w) => w.status === 401)).toEqual([])
  })
})

describe('htpasswd (bcrypt) Basic auth', () => {
  const user = { user: 'basic-user', password: 'basic-Pass-7f3a9' }
  let registry: Registry
  beforeAll(async () => {
    registry = await startRegistry({ htpasswd: user })
  })
  afterAll(async () => {
    await registry?.stop()
  })

  it('answers the challenge once, then sends Basic up front', async () => {
    const c = await clientWith({ [registry.host]: { auth: basicAuth(user.user, user.password) } })
    const v2 = await c.auth.fetch(`${registry.url}/v2/`, { method: 'GET' }, [])
    expect(v2.status).toBe(200)
    await pushBlob(c.auth, registry, 'team/model', randomBlob())
    // One 401 for the first request; every later request carries Basic at once.
    expect(c.wire.filter((w) => w.status === 401)).toHaveLength(1)
    expect(c.wire.slice(1).every((w) => w.authorization === 'basic')).toBe(true)
    expect(c.secrets).toContain(user.password)
    expect(await c.auth.describe(registry.host)).toMatch(/auth\.json$/)
  })

  it('prepare checks the password before a streamed upload', async () => {
    const c = await clientWith({ [registry.host]: { auth: basicAuth(user.user, user.password) } })
    await c.auth.prepare(registry.url, PUSH('team/model'))
    const wireBefore = c.wire.length
    // A streamed body cannot be replayed: after prepare it must go through on the first try.
    const body = new ReadableStream<Uint8Array>({
      start(ctrl) {
        ctrl.close()
      },
    })
    const res = await c.auth.fetch(
      `${registry.url}/v2/team/model/blobs/uploads/`,
      { method: 'POST', body, duplex: 'half' } as RequestInit,
      PUSH('team/model'),
    )
    expect(res.status).toBe(202)
    await res.body?.cancel()
    expect(c.wire.slice(wireBefore).map((w) => [w.authorization, w.status])).toEqual([['basic', 202]])
  })

  it('a wrong password is "wrong credentials" with the status and the file, never the password', async () => {
    const c = await clientWith({ [registry.host]: { auth: basicAuth(user.user, 'not-the-Pass-55') } })
    const err = await expectAuthError(
      () => c.auth.fetch(`${registry.url}/v2/team/model/tags/list`, { method: 'GET' }, PULL('team/model')),
      ['not-the-Pass-55', basicAuth(user.user, 'not-the-Pass-55')],
    )
    expect(err.code).toBe('REGISTRY_CREDENTIALS_REJECTED')
    expect(err.message).toContain(`wrong credentials for \`${registry.host}\``)
    expect(err.message).toMatch(/auth\.json`\)/)
    expect(err.message).toContain('401 GET')
    const viaPrepare = await expectAuthError(() => c.auth.prepare(registry.url, PUSH('team/model')), ['not-the-Pass-55'])
    expect(viaPrepare.code).toBe('REGISTRY_CREDENTIALS_REJECTED')
  })

  it('no credentials: "needs credentials" with a hint to log in', async () => {
    const c = await clientWith({})
    const err = await expectAuthError(() => c.auth.fetch(`${registry.url}/v2/`, { method: 'GET' }, []), [])
    expect(err.code).toBe('REGISTRY_CREDENTIALS_REQUIRED')
    expect(err.message).toContain(`\`${registry.host}\` needs credentials [401 GET`)
    expect(err.hint).toContain(`podman login ${registry.host}`)
    expect(err.hint).toContain('REGISTRY_AUTH_FILE')
  })
})

describe('Bearer tokens from tools/token-server', () => {
  const alice = { name: 'alice', password: 'alice-Pw-91c2' }
  const bob = { name: 'bob', password: 'bob-Pw-0d7e' }
  let tokens: TokenServer
  let registry: Registry
  beforeAll(async () => {
    tokens = await startTokenServer({
      users: {
        [alice.name]: { password: alice.password, access: { 'org/*': ['pull', 'push'] } },
        [bob.name]: { password: bob.password, access: { 'org/*': ['pull'] } },
      },
      anonymous: { 'public/*': ['pull'] },
    })
    registry = await startRegistry({ token: tokens.registryAuth })
  })
  afterAll(async () => {
    await registry?.stop()
    await tokens?.stop()
  })

  const aliceAuth = () => ({ [registry.host]: { auth: basicAuth(alice.name, alice.password) } })

  it('gets a token with Basic for the scopes asked, caches it, and pushes', async () => {
    const c = await clientWith(aliceAuth())
    tokens.requests.length = 0
    await c.auth.prepare(registry.url, PUSH('org/model'))
    await pushBlob(c.auth, registry, 'org/model', randomBlob())
    await pushBlob(c.auth, registry, 'org/model', randomBlob())
    expect(c.wire.filter((w) => w.url.startsWith(registry.url) && w.status === 401)).toHaveLength(1) // prepare's GET /v2/
    // POST, PUT go with the push token; HEAD asks only for pull: a second token, then both cached.
    const got = tokens.requests.map((r) => ({
      method: r.method,
      user: r.user,
      scopes: r.scopes,
      granted: r.granted,
      status: r.status,
      authorization: r.authorization,
    }))
    expect(got).toEqual([
      {
        method: 'GET',
        user: 'alice',
        scopes: ['repository:org/model:pull,push'],
        granted: ['repository:org/model:pull,push'],
        status: 200,
        authorization: 'basic',
      },
      {
        method: 'GET',
        user: 'alice',
        scopes: ['repository:org/model:pull'],
        granted: ['repository:org/model:pull'],
        status: 200,
        authorization: 'basic',
      },
    ])
    expect(tokens.requests[0]!.path).toContain('account=alice')
    expect(tokens.requests[0]!.path).toContain(`service=${tokens.service}`)
    expect(c.secrets).toContain(alice.password)
    expect(c.secrets.length).toBeGreaterThanOrEqual(3) // password, Basic value, tokens
  })

  it('asks for every scope at once (one `scope` parameter each) for a cross-repository mount', async () => {
    const c = await clientWith(aliceAuth())
    const source = await pushBlob(c.auth, registry, 'org/base', randomBlob())
    tokens.requests.length = 0
    const scopes = ['repository:org/model:pull,push', 'repository:org/base:pull']
    const res = await c.auth.fetch(
      `${registry.url}/v2/org/model/blobs/uploads/?mount=${source}&from=org/base`,
      { method: 'POST', headers: { 'content-length': '0' } },
      scopes,
    )
    expect(res.status).toBe(201)
    await res.body?.cancel()
    expect(tokens.requests).toHaveLength(1)
    expect(new URL(tokens.requests[0]!.path, 'http://x').searchParams.getAll('scope')).toEqual([
      'repository:org/base:pull',
      'repository:org/model:pull,push',
    ])
  })

  it('skopeo reads what we pushed with the same credentials (the stand-in is a real token registry)', async () => {
    const c = await clientWith(aliceAuth())
    const digest = await pushImage(c.auth, registry, 'org/model', 'v1')
    const { inspect } = await skopeoInspect(`docker://${registry.host}/org/model:v1`, {
      creds: { user: alice.name, password: alice.password },
    })
    expect(inspect.Digest).toBe(digest)
    tokens.requests.length = 0
    const wrong = await run('skopeo', [
      '--insecure-policy',
      'inspect',
      '--tls-verify=false',
      '--creds',
      `${alice.name}:wrong-pass`,
      `docker://${registry.host}/org/model:v1`,
    ])
    expect(wrong.code).not.toBe(0)
    expect(wrong.stderr).toMatch(/401|unauthorized|authentication/i)
    expect(tokens.requests.some((r) => r.status === 401 && r.authorization === 'basic')).toBe(true)
  })

  it('reads the auth.json that `skopeo login` writes', async () => {
    const file = join(work.path, 'skopeo-login', 'auth.json')
    await mkdir(join(file, '..'), { recursive: true })
    const login = await run(
      'skopeo',
      ['login', '--tls-verify=false', '--authfile', file, '-u', alice.name, '--password-stdin', registry.host],
      { input: alice.password },
    )
    expect(login.code, login.stderr).toBe(0)
    const { fetch, wire } = recordingFetch()
    const auth = createRegistryAuth({ env: { HOME: join(work.path, 'no-home'), REGISTRY_AUTH_FILE: file }, fetch, secret: () => {} })
    await pushBlob(auth, registry, 'org/model', randomBlob())
    expect(await auth.describe(registry.host)).toBe(file)
    expect(wire.some((w) => w.url.startsWith(tokens.realm) && w.authorization === 'basic' && w.status === 200)).toBe(true)
  })

  it('a wrong password is refused by the token server: "wrong credentials" with 401, no secret', async () => {
    const c = await clientWith({ [registry.host]: { auth: basicAuth(alice.name, 'wrong-Pw-3344') } })
    const err = await expectAuthError(
      () => pushBlob(c.auth, registry, 'org/model', randomBlob()),
      ['wrong-Pw-3344', basicAuth(alice.name, 'wrong-Pw-3344')],
    )
    expect(err.code).toBe('REGISTRY_CREDENTIALS_REJECTED')
    expect(err.message).toContain(`wrong credentials for \`${registry.host}\``)
    expect(err.message).toContain(`401 GET ${tokens.realm}`)
  })

  it('a repository the account may not push to is "denied", with the status', async () => {
    const c = await clientWith({ [registry.host]: { auth: basicAuth(bob.name, bob.password) } })
    // bob may pull: a HEAD works (404: no such blob, but past auth).
    const head = await c.auth.fetch(`${registry.url}/v2/org/model/blobs/${sha256('nothing')}`, { method: 'HEAD' }, PULL('org/model'))
    expect(head.status).toBe(404)
    const err = await expectAuthError(() => pushBlob(c.auth, registry, 'org/model', randomBlob()), [bob.password, ...c.secrets])
    expect(err.code).toBe('REGISTRY_ACCESS_DENIED')
    expect(err.message).toContain('`org/model` (pull,push)')
    expect(err.message).toContain('is denied [401 POST')
    expect(err.hint).toMatch(/auth\.json/)
  })

  it('a streamed upload the account may not make throws "denied" instead of handing back a 401 to re-stream forever', async () => {
    const c = await clientWith({ [registry.host]: { auth: basicAuth(bob.name, bob.password) } })
    await c.auth.prepare(registry.url, PUSH('org/model'))
    const body = new ReadableStream<Uint8Array>({ start: (ctrl) => ctrl.close() })
    const err = await expectAuthError(
      () =>
        c.auth.fetch(
          `${registry.url}/v2/org/model/blobs/uploads/`,
          { method: 'POST', body, duplex: 'half' } as RequestInit,
          PUSH('org/model'),
        ),
      [bob.password],
    )
    expect(err.code).toBe('REGISTRY_ACCESS_DENIED')
  })

  it('parallel prepares share one /v2/ probe and one token request', async () => {
    const c = await clientWith(aliceAuth())
    tokens.requests.length = 0
    await Promise.all(Array.from({ length: 5 }, () => c.auth.prepare(registry.url, PUSH('org/model'))))
    expect(c.wire.filter((w) => w.url === `${registry.url}/v2/`)).toHaveLength(1)
    expect(tokens.requests).toHaveLength(1)
  })

  it('parallel requests before the scheme is known share one token request', async () => {
    const c = await clientWith(aliceAuth())
    tokens.requests.length = 0
    const statuses = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const res = await c.auth.fetch(
          `${registry.url}/v2/org/model/blobs/${sha256(`nothing-${i}`)}`,
          { method: 'HEAD' },
          PULL('org/model'),
        )
        return res.status
      }),
    )
    expect(statuses).toEqual(Array(8).fill(404))
    expect(tokens.requests).toHaveLength(1)
  })

  it('anonymous: public pulls work; a push says the registry needs credentials', async () => {
    const c = await clientWith({})
    const head = await c.auth.fetch(`${registry.url}/v2/public/thing/blobs/${sha256('nothing')}`, { method: 'HEAD' }, PULL('public/thing'))
    expect(head.status).toBe(404)
    expect(tokens.requests.at(-1)).toMatchObject({ authorization: 'none', user: undefined, granted: ['repository:public/thing:pull'] })
    const err = await expectAuthError(() => pushBlob(c.auth, registry, 'public/thing', randomBlob()), c.secrets)
    expect(err.code).toBe('REGISTRY_CREDENTIALS_REQUIRED')
    expect(err.hint).toContain('podman login')
  })

  it('an identity token from a credential helper goes through the refresh_token grant', async () => {
    const home = join(work.path, 'helper-home')
    const bin = join(home, 'bin')
    const refresh = tokens.createRefreshToken(alice.name)
    await writeCredentialHelper(bin, 'mctest', { [registry.host]: { Username: '<token>', Secret: refresh } })
    await writeJson(join(home, '.docker', 'config.json'), { credHelpers: { [registry.host]: 'mctest' } })
    await mkdir(join(home, 'run'), { recursive: true })
    const { fetch, wire } = recordingFetch()
    const secrets: string[] = []
    const env = { HOME: home, XDG_RUNTIME_DIR: join(home, 'run'), PATH: `${bin}:${process.env.PATH}` }
    const auth = createRegistryAuth({ env, fetch, secret: (v) => secrets.push(v) })
    tokens.requests.length = 0
    await pushBlob(auth, registry, 'org/model', randomBlob())
    expect(tokens.requests[0]).toMatchObject({
      method: 'POST',
      grantType: 'refresh_token',
      user: 'alice',
      granted: ['repository:org/model:pull,push'],
    })
    expect(secrets).toContain(refresh)
    expect(await auth.describe(registry.host)).toBe('docker-credential-mctest')
    expect(wire.filter((w) => w.url.startsWith(registry.url) && w.authorization === 'bearer').length).toBeGreaterThan(2)

    tokens.revokeRefreshToken(refresh)
    const again = createRegistryAuth({ env, fetch, secret: () => {} })
    const err = await expectAuthError(() => pushBlob(again, registry, 'org/model', randomBlob()), [refresh])
    expect(err.code).toBe('REGISTRY_CREDENTIALS_REJECTED')
    expect(err.message).toContain('(from `docker-credential-mctest`)')
    expect(err.message).toContain(`400 POST ${tokens.realm}`)
  })
})

describe('token expiry', () => {
  const user = { name: 'carol', password: 'carol-Pw-6b1f' }
  const users = { [user.name]: { password: user.password, access: { '*': ['pull', 'push'] } } }

  it('a token past its expires_in is replaced before use', async () => {
    const tokens = await startTokenServer({ users, expiresInSeconds: 2 })
    const registry = await startRegistry({ token: tokens.registryAuth })
    try {
      const c = await clientWith({ [registry.host]: { auth: basicAuth(user.name, user.password) } })
      const url = `${registry.url}/v2/x/y/blobs/${sha256('nothing')}`
      expect((await c.auth.fetch(url, { method: 'HEAD' }, PULL('x/y'))).status).toBe(404)
      expect((await c.auth.fetch(url, { method: 'HEAD' }, PULL('x/y'))).status).toBe(404)
      expect(tokens.requests).toHaveLength(1)
      await new Promise((r) => setTimeout(r, 2_100))
      expect((await c.auth.fetch(url, { method: 'HEAD' }, PULL('x/y'))).status).toBe(404)
      expect(tokens.requests).toHaveLength(2)
      // No 401 on the way: the new token was fetched before the request.
      expect(c.wire.filter((w) => w.url.startsWith(registry.url) && w.status === 401)).toHaveLength(1)
    } finally {
      await registry.stop()
      await tokens.stop()
    }
  })

  it('a token the registry refuses (expired early) is fetched again on 401 and the request retried once', async () => {
    // The JWT lapses after 2 s (distribution allows 60 s of leeway past exp) while expires_in says 300.
    const tokens = await startTokenServer({ users, expiresInSeconds: 300, jwtLifetimeSeconds: -58 })
    const registry = await startRegistry({ token: tokens.registryAuth })
    try {
      const c = await clientWith({ [registry.host]: { auth: basicAuth(user.name, user.password) } })
      const digest = await pushBlob(c.auth, registry, 'x/y', randomBlob())
      const before = tokens.requests.length
      await new Promise((r) => setTimeout(r, 3_000))
      const res = await c.auth.fetch(`${registry.url}/v2/x/y/blobs/${digest}`, { method: 'HEAD' }, PULL('x/y'))
      expect(res.status).toBe(200)
      expect(tokens.requests.length).toBe(before + 1)
      const toRegistry = c.wire.filter((w) => w.url.startsWith(registry.url))
      expect(toRegistry.slice(-2).map((w) => [w.authorization, w.status])).toEqual([
        ['bearer', 401],
        ['bearer', 200],
      ])
    } finally {
      await registry.stop()
      await tokens.stop()
    }
  })

  it('the registry also takes tokens that name their key by x5c certificate', async () => {
    const tokens = await startTokenServer({ users, keyIdentification: 'x5c' })
    const registry = await startRegistry({ token: tokens.registryAuth })
    try {
      const c = await clientWith({ [registry.host]: { auth: basicAuth(user.name, user.password) } })
      await pushBlob(c.auth, registry, 'x/y', randomBlob())
    } finally {
      await registry.stop()
      await tokens.stop()
    }
  })
})
