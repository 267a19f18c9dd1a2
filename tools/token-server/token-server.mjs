// A Docker registry token server for tests: the token auth spec (distribution docs/spec/auth/
// token.md, jwt.md, oauth.md, scope.md) as distribution 2.8.2 verifies it. Users with passwords
// (Basic auth to GET /token), per-user access rules, optional anonymous pull, the OAuth2 password
// and refresh_token grants (POST /token) for identity tokens, RS256 JWTs signed with a key whose
// self-signed certificate is the registry's `rootcertbundle`, and a request log without secrets.
// Strict where the spec allows it: a wrong service, a malformed scope or bad credentials are refused,
// never ignored. Plain Node ESM (node:http, node:crypto) plus the openssl CLI for the certificate,
// which node:crypto cannot make. Types are in token-server.d.mts.

import { execFile } from 'node:child_process'
import { createHash, createPrivateKey, createPublicKey, randomBytes, randomUUID, sign, timingSafeEqual, X509Certificate } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** base64url without padding, as JWS wants it. */
const b64url = (buf) => Buffer.from(buf).toString('base64url')

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
function base32(buf) {
  let bits = 0
  let value = 0
  let out = ''
  for (const byte of buf) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31]
  return out
}

/**
 * The key ID libtrust derives from a public key, which distribution 2.8 matches a JWT's `kid`
 * against (for every certificate in rootcertbundle): SHA-256 of the DER SubjectPublicKeyInfo,
 * first 240 bits, base32, in 12 groups of 4 joined by ":".
 */
export function libtrustKeyId(publicKey) {
  const der = publicKey.export({ type: 'spki', format: 'der' })
  const digest = createHash('sha256').update(der).digest().subarray(0, 30)
  return base32(digest).match(/.{4}/g).join(':')
}

/** An RSA key and a self-signed certificate for it, made by openssl in dir. */
async function makeKeyPair(dir) {
  const keyPath = join(dir, 'token-key.pem')
  const certPath = join(dir, 'token-cert.pem')
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    keyPath,
    '-out',
    certPath,
    '-days',
    '2',
    '-subj',
    '/CN=modelcar-token-server',
  ]).catch((err) => {
    if (err.code === 'ENOENT') throw new Error('`openssl` is not installed (Debian package openssl)')
    throw err
  })
  const privateKey = createPrivateKey(await readFile(keyPath))
  const certPem = await readFile(certPath, 'utf8')
  const cert = new X509Certificate(certPem)
  return { privateKey, publicKey: createPublicKey(privateKey), certPath, certDer: cert.raw }
}

/** `*` matches any run of characters, `/` included; everything else is literal. */
function globToRegExp(glob) {
  return new RegExp(
    `^${glob
      .split('*')
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  )
}

function allowedActions(rules, name) {
  const actions = new Set()
  for (const [glob, list] of Object.entries(rules ?? {})) {
    if (globToRegExp(glob).test(name)) for (const a of list) actions.add(a)
  }
  return actions
}

// scope.md: resourcetype ":" resourcename ":" action *("," action); the name may hold ":"
// only in a port-bearing host part, which repository names here never do.
const SCOPE_RE = /^([a-z0-9]+(?:\([a-z0-9]+\))?):([^:]+(?::[0-9]+\/[^:]+)?):([a-z*]+(?:,[a-z*]+)*)$/

function parseScope(text) {
  const m = SCOPE_RE.exec(text)
  if (!m) return undefined
  return { type: m[1], name: m[2], actions: m[3].split(',') }
}

/** A parsed scope (or granted access entry) written back as `type:name:actions`, for the request log. */
const scopeText = (s) => `${s.type}:${s.name}:${s.actions.join(',')}`

function safeEqual(a, b) {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

export async function startTokenServer(opts = {}) {
  const service = opts.service ?? 'modelcar-test-registry'
  const issuer = opts.issuer ?? 'modelcar-token-server'
  const users = opts.users ?? {}
  const anonymous = opts.anonymous ?? {}
  const expiresIn = opts.expiresInSeconds ?? 300
  const jwtLifetime = opts.jwtLifetimeSeconds ?? expiresIn
  const keyIdentification = opts.keyIdentification ?? 'kid'
  const dir = await mkdtemp(join(tmpdir(), 'modelcar-token-server-'))
  let keys
  try {
    keys = await makeKeyPair(dir)
  } catch (err) {
    await rm(dir, { recursive: true, force: true })
    throw err
  }
  const kid = libtrustKeyId(keys.publicKey)
  /** refresh token → user name */
  const refreshTokens = new Map()
  const requests = []

  function issue(user, access) {
    const now = Math.floor(Date.now() / 1000)
    const header =
      keyIdentification === 'x5c' ? { typ: 'JWT', alg: 'RS256', x5c: [keys.certDer.toString('base64')] } : { typ: 'JWT', alg: 'RS256', kid }
    const claims = {
      iss: issuer,
      sub: user ?? '',
      // distribution 2.8 reads aud as a string (3.x also takes a list).
      aud: service,
      exp: now + jwtLifetime,
      nbf: now,
      iat: now,
      jti: randomUUID(),
      access,
    }
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`
    const signature = sign('sha256', Buffer.from(input), keys.privateKey)
    return { token: `${input}.${b64url(signature)}`, issuedAt: new Date(now * 1000).toISOString() }
  }

  /** What user (undefined: anonymous) gets of the scopes asked for: anonymous rules apply to everyone. */
  function grant(user, scopes) {
    const access = []
    for (const s of scopes) {
      // Only repositories carry access rules here; other resource types (registry:catalog:*) get nothing.
      if (s.type !== 'repository') continue
      const allowed = allowedActions(anonymous, s.name)
      if (user !== undefined) for (const a of allowedActions(users[user].access, s.name)) allowed.add(a)
      const actions = s.actions.filter((a) => allowed.has(a))
      if (actions.length) access.push({ type: s.type, name: s.name, actions })
    }
    return access
  }

  const server = createServer((req, res) => {
    const entry = {
      method: req.method ?? '',
      path: req.url ?? '',
      grantType: undefined,
      account: undefined,
      user: undefined,
      service: undefined,
      scopes: [],
      granted: [],
      authorization: req.headers.authorization ? req.headers.authorization.split(' ')[0].toLowerCase() : 'none',
      status: 0,
    }
    requests.push(entry)
    const reply = (status, body, headers = {}) => {
      entry.status = status
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers })
      res.end(JSON.stringify(body))
    }
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      try {
        handle(req, Buffer.concat(chunks).toString('utf8'), entry, reply)
      } catch (err) {
        reply(500, { errors: [{ code: 'UNKNOWN', message: String(err?.message ?? err) }] })
      }
    })
  })

  function handle(req, body, entry, reply) {
    const url = new URL(req.url ?? '/', 'http://token-server')
    if (url.pathname !== '/token') return reply(404, { errors: [{ code: 'NOT_FOUND', message: 'no such endpoint' }] })
    const unauthorized = (message) =>
      reply(401, { errors: [{ code: 'UNAUTHORIZED', message }] }, { 'www-authenticate': `Basic realm="${issuer}"` })

    if (req.method === 'GET') {
      entry.service = url.searchParams.get('service') ?? undefined
      entry.account = url.searchParams.get('account') ?? undefined
      if (entry.service !== service)
        return reply(400, { errors: [{ code: 'INVALID_REQUEST', message: `unknown service ${JSON.stringify(entry.service ?? null)}` }] })
      const scopes = []
      for (const param of url.searchParams.getAll('scope')) {
        for (const text of param.split(' ').filter(Boolean)) {
          const s = parseScope(text)
          if (!s) return reply(400, { errors: [{ code: 'INVALID_REQUEST', message: `malformed scope ${JSON.stringify(text)}` }] })
          scopes.push(s)
        }
      }
      entry.scopes = scopes.map(scopeText)
      let user
      const header = req.headers.authorization
      if (header) {
        const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header)
        if (!m) return unauthorized('only Basic credentials are accepted here')
        const decoded = Buffer.from(m[1], 'base64').toString('utf8')
        const colon = decoded.indexOf(':')
        const name = decoded.slice(0, colon)
        const password = decoded.slice(colon + 1)
        if (colon < 0 || !Object.hasOwn(users, name) || !safeEqual(users[name].password, password))
          return unauthorized('authentication failed')
        if (entry.account !== undefined && entry.account !== name)
          return reply(400, { errors: [{ code: 'INVALID_REQUEST', message: 'account does not match the credentials' }] })
        user = name
      } else if (opts.requireAuth) return unauthorized('authentication required')
      entry.user = user
      const access = grant(user, scopes)
      entry.granted = access.map(scopeText)
      const { token, issuedAt } = issue(user, access)
      const answer = { token, access_token: token, expires_in: expiresIn, issued_at: issuedAt }
      // offline_token=true with credentials asks for a refresh token too (token.md).
      if (user !== undefined && url.searchParams.get('offline_token') === 'true') answer.refresh_token = newRefreshToken(user)
      return reply(200, answer)
    }

    if (req.method === 'POST') {
      const type = String(req.headers['content-type'] ?? '')
        .split(';')[0]
        .trim()
      if (type !== 'application/x-www-form-urlencoded')
        return reply(400, { error: 'invalid_request', error_description: 'expected a form body' })
      const form = new URLSearchParams(body)
      entry.grantType = form.get('grant_type') ?? undefined
      entry.service = form.get('service') ?? undefined
      if (!form.get('client_id')) return reply(400, { error: 'invalid_request', error_description: 'client_id is required' })
      if (entry.service !== service) return reply(400, { error: 'invalid_request', error_description: 'unknown service' })
      const scopes = []
      for (const text of (form.get('scope') ?? '').split(' ').filter(Boolean)) {
        const s = parseScope(text)
        if (!s) return reply(400, { error: 'invalid_scope', error_description: `malformed scope ${JSON.stringify(text)}` })
        scopes.push(s)
      }
      entry.scopes = scopes.map(scopeText)
      // RFC 6749 §5.2: a bad password or refresh token is 400 invalid_grant on this endpoint.
      let user
      let refresh
      if (entry.grantType === 'password') {
        const name = form.get('username') ?? ''
        if (!Object.hasOwn(users, name) || !safeEqual(users[name].password, form.get('password') ?? '')) {
          return reply(400, { error: 'invalid_grant', error_description: 'authentication failed' })
        }
        user = name
        if (form.get('access_type') === 'offline') refresh = newRefreshToken(user)
      } else if (entry.grantType === 'refresh_token') {
        user = refreshTokens.get(form.get('refresh_token') ?? '')
        if (user === undefined) return reply(400, { error: 'invalid_grant', error_description: 'unknown refresh token' })
        refresh = form.get('refresh_token')
      } else return reply(400, { error: 'unsupported_grant_type' })
      entry.user = user
      const access = grant(user, scopes)
      entry.granted = access.map(scopeText)
      const { token, issuedAt } = issue(user, access)
      return reply(200, {
        access_token: token,
        scope: entry.scopes.join(' '),
        expires_in: expiresIn,
        issued_at: issuedAt,
        ...(refresh ? { refresh_token: refresh } : {}),
      })
    }
    return reply(405, { errors: [{ code: 'UNSUPPORTED', message: 'GET or POST' }] }, { allow: 'GET, POST' })
  }

  function newRefreshToken(user) {
    if (!Object.hasOwn(users, user)) throw new Error(`createRefreshToken: unknown user ${JSON.stringify(user)}`)
    const token = `mcrt_${randomBytes(24).toString('hex')}`
    refreshTokens.set(token, user)
    return token
  }

  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve)
  })
  const { address, port } = server.address()
  const realm = `http://${address}:${port}/token`
  let stopped
  return {
    realm,
    service,
    issuer,
    rootCertBundle: keys.certPath,
    keyId: kid,
    registryAuth: { realm, service, issuer, rootCertBundle: keys.certPath },
    requests,
    createRefreshToken: newRefreshToken,
    revokeRefreshToken: (token) => void refreshTokens.delete(token),
    stop: () =>
      (stopped ??= (async () => {
        server.closeAllConnections()
        await new Promise((resolve) => server.close(() => resolve()))
        await rm(dir, { recursive: true, force: true })
      })()),
  }
}
