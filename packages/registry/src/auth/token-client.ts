// Gets a Bearer token from a registry's token server (distribution docs/spec/auth/token.md and
// oauth.md): GET with Basic credentials or anonymously, or the OAuth2 refresh_token grant (POST)
// when the user holds an identity token.
import { redactUrl } from '@modelcar/core'
import { authErrors } from './auth-errors.js'
import type { RegistryCredentials } from './credential-store.js'
import { describeScopes } from './scopes.js'

export interface Token {
  token: string
  /** Epoch ms after which the token is not used again (a little before the server's expiry). */
  expiresAt: number
}

export interface TokenRequest {
  fetch: typeof globalThis.fetch
  secret: (value: string) => void
  /** The registry host, for messages. */
  host: string
  realm: string
  service: string | undefined
  scopes: string[]
  credentials: RegistryCredentials | undefined
  /** OAuth2 client_id; the spec asks clients to name themselves. */
  clientId: string
  now: () => number
}

/** The spec's default when expires_in is absent. */
const DEFAULT_EXPIRES_IN_S = 60

export async function requestToken(req: TokenRequest): Promise<Token> {
  const started = req.now()
  const realm = new URL(req.realm)
  const creds = req.credentials
  let res: Response
  let method: string
  if (creds?.identityToken) {
    // An identity token only works through the OAuth2 endpoint: POST the refresh_token grant.
    method = 'POST'
    const form = new URLSearchParams({ grant_type: 'refresh_token', client_id: req.clientId, refresh_token: creds.identityToken })
    if (req.service) form.set('service', req.service)
    // oauth.md: scope is space-delimited here, unlike the repeated query parameter of the GET form.
    if (req.scopes.length) form.set('scope', req.scopes.join(' '))
    res = await send(req, realm, { method, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() })
  } else {
    method = 'GET'
    if (req.service) realm.searchParams.set('service', req.service)
    for (const scope of req.scopes) realm.searchParams.append('scope', scope)
    const headers: Record<string, string> = {}
    if (creds?.password !== undefined) {
      if (creds.username) realm.searchParams.set('account', creds.username)
      const basic = Buffer.from(`${creds.username ?? ''}:${creds.password}`).toString('base64')
      req.secret(basic)
      headers.authorization = `Basic ${basic}`
    }
    res = await send(req, realm, { method, headers })
  }
  const where = `${res.status} ${method} ${redactUrl(realm)}`
  if (!res.ok) {
    // OAuth2 (RFC 6749 §5.2) answers a bad refresh token with 400 invalid_grant, not 401.
    const oauthError = method === 'POST' ? await oauthErrorCode(res) : (await res.body?.cancel(), undefined)
    if (res.status === 401 || oauthError === 'invalid_grant') {
      throw creds
        ? authErrors.registryCredentialsRejected(req.host, creds.source, where)
        : authErrors.registryCredentialsRequired(req.host, where)
    }
    if (res.status === 403) throw authErrors.registryAccessDenied(req.host, describeScopes(req.scopes), creds?.source, where)
    if (res.status >= 300 && res.status < 400) {
      // Credentials are not carried across a redirect we did not ask for.
      throw authErrors.registryAuthFailed(req.host, `the token server redirected [${where}]`)
    }
    throw authErrors.registryAuthFailed(
      req.host,
      `the token server answered ${res.status} [${where}]`,
      res.status === 429 || res.status >= 500,
    )
  }
  let body: { token?: unknown; access_token?: unknown; expires_in?: unknown; refresh_token?: unknown }
  try {
    body = (await res.json()) as typeof body
  } catch {
    throw authErrors.registryAuthFailed(req.host, `the token server's answer is not JSON [${where}]`)
  }
  const token = typeof body.token === 'string' && body.token ? body.token : typeof body.access_token === 'string' ? body.access_token : ''
  if (!token) throw authErrors.registryAuthFailed(req.host, `the token server's answer has no \`token\` [${where}]`)
  req.secret(token)
  if (typeof body.refresh_token === 'string' && body.refresh_token) req.secret(body.refresh_token)
  const expiresIn = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_EXPIRES_IN_S
  // The lifetime is counted from when we asked, not from issued_at: the server's clock may be off.
  // A margin (10 %, at most 10 s) keeps a request from leaving with a token about to lapse.
  const margin = Math.min(10_000, expiresIn * 100)
  return { token, expiresAt: started + expiresIn * 1000 - margin }
}

async function oauthErrorCode(res: Response): Promise<string | undefined> {
  try {
    const body = JSON.parse((await res.text()).slice(0, 4096)) as { error?: unknown }
    return typeof body.error === 'string' ? body.error : undefined
  } catch {
    return undefined
  }
}

function send(req: TokenRequest, url: URL, init: RequestInit): Promise<Response> {
  return req.fetch(url, { ...init, redirect: 'manual' }).catch((err: unknown) => {
    throw authErrors.registryAuthFailed(req.host, `cannot reach the token server \`${redactUrl(url)}\`: ${(err as Error).message}`, true)
  })
}
