// The token server on its own: what its JWTs hold and how they are signed, what it refuses, and
// that its log never holds a secret. (That docker-registry 2.8.2 accepts its tokens is checked in
// test/registry-auth against the real registry.)
import { verify, X509Certificate } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { libtrustKeyId, startTokenServer, type TokenServer } from './token-server.mjs'

const PASSWORD = 'ts-Pass-8c1d'
let server: TokenServer

beforeAll(async () => {
  server = await startTokenServer({
    users: { dana: { password: PASSWORD, access: { 'team/*': ['pull', 'push'] } } },
    anonymous: { 'public/*': ['pull'] },
    expiresInSeconds: 123,
  })
})
afterAll(async () => {
  await server?.stop()
})

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
const decode = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString()) as Record<string, unknown>

async function get(query: string, authorization?: string) {
  const res = await fetch(`${server.realm}?${query}`, { headers: authorization ? { authorization } : {} })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

describe('tokens', () => {
  it('are RS256 JWTs with the libtrust kid of the certificate key, the spec claims, and only the access granted', async () => {
    const { status, body } = await get(
      `service=${server.service}&scope=${encodeURIComponent('repository:team/a:pull,push')}&scope=${encodeURIComponent('repository:other/b:pull')}&account=dana`,
      basic('dana', PASSWORD),
    )
    expect(status).toBe(200)
    expect(body.token).toBe(body.access_token)
    expect(body.expires_in).toBe(123)
    expect(Date.parse(String(body.issued_at))).not.toBeNaN()
    const [h, c, sig] = String(body.token).split('.') as [string, string, string]
    const cert = new X509Certificate(await readFile(server.rootCertBundle))
    expect(decode(h)).toEqual({ typ: 'JWT', alg: 'RS256', kid: libtrustKeyId(cert.publicKey) })
    expect(server.keyId).toMatch(/^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/)
    expect(verify('sha256', Buffer.from(`${h}.${c}`), cert.publicKey, Buffer.from(sig, 'base64url'))).toBe(true)
    const claims = decode(c)
    expect(claims).toMatchObject({
      iss: server.issuer,
      sub: 'dana',
      aud: server.service,
      access: [{ type: 'repository', name: 'team/a', actions: ['pull', 'push'] }],
    })
    expect(Number(claims.exp) - Number(claims.iat)).toBe(123)
    expect(claims.nbf).toBe(claims.iat)
    expect(typeof claims.jti).toBe('string')
  })

  it('anonymous requests get the anonymous rules only', async () => {
    const { body } = await get(
      `service=${server.service}&scope=${encodeURIComponent('repository:public/x:pull,push repository:team/a:pull')}`,
    )
    expect(decode(String(body.token).split('.')[1]!)).toMatchObject({
      sub: '',
      access: [{ type: 'repository', name: 'public/x', actions: ['pull'] }],
    })
  })

  it('the refresh_token grant trades an identity token for an access token; a revoked one is invalid_grant', async () => {
    const refresh = server.createRefreshToken('dana')
    const post = (token: string) =>
      fetch(server.realm, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: token,
          client_id: 'test',
          service: server.service,
          scope: 'repository:team/a:push',
        }),
      })
    const ok = await post(refresh)
    expect(ok.status).toBe(200)
    const body = (await ok.json()) as Record<string, unknown>
    expect(decode(String(body.access_token).split('.')[1]!)).toMatchObject({ sub: 'dana', access: [{ name: 'team/a', actions: ['push'] }] })
    server.revokeRefreshToken(refresh)
    const gone = await post(refresh)
    expect(gone.status).toBe(400)
    expect(await gone.json()).toMatchObject({ error: 'invalid_grant' })
  })
})

describe('refusals', () => {
  it('a wrong password is 401, a wrong service or malformed scope 400, an account that is not the user 400', async () => {
    expect((await get(`service=${server.service}`, basic('dana', 'nope'))).status).toBe(401)
    expect((await get(`service=${server.service}`, basic('nobody', PASSWORD))).status).toBe(401)
    expect((await get('service=another')).status).toBe(400)
    expect((await get(`service=${server.service}&scope=repository:team/a`)).status).toBe(400)
    expect((await get(`service=${server.service}&account=eve`, basic('dana', PASSWORD))).status).toBe(400)
  })

  it('the request log names users and scopes, never a password or token', async () => {
    const log = JSON.stringify(server.requests)
    expect(log).not.toContain(PASSWORD)
    expect(log).not.toContain(Buffer.from(`dana:${PASSWORD}`).toString('base64'))
    expect(log).not.toContain('eyJ')
    expect(server.requests.some((r) => r.user === 'dana' && r.authorization === 'basic')).toBe(true)
  })
})

describe('x5c', () => {
  it('puts the DER certificate in x5c instead of kid', async () => {
    const x5c = await startTokenServer({ keyIdentification: 'x5c' })
    try {
      const res = await fetch(`${x5c.realm}?service=${x5c.service}`)
      const token = String(((await res.json()) as Record<string, unknown>).token)
      const header = decode(token.split('.')[0]!)
      const cert = new X509Certificate(await readFile(x5c.rootCertBundle))
      expect(header).toEqual({ typ: 'JWT', alg: 'RS256', x5c: [cert.raw.toString('base64')] })
    } finally {
      await x5c.stop()
    }
  })
})
