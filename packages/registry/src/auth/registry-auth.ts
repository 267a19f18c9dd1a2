// Authenticated requests to OCI registries: answers each host's challenge (host-schemes) with the
// user's credentials (credential stores) as Basic, or with Bearer tokens (token cache, token
// client); redirects are followed by core's fetchFollowing, so credentials stay on the registry's
// own origin.
import { fetchFollowing, isReplayableBody, redactUrl, type Followed, type ModelcarError } from '@modelcar/core'
import { parseDistributionErrors } from '../distribution/error-body.js'
import { isLoopbackHost } from '../distribution/image-reference.js'
import { authErrors } from './auth-errors.js'
import { unansweredChallenge } from './auth-failure.js'
import type { CredentialStore, Env, RegistryCredentials } from './credential-store.js'
import { credentialStores, findCredentials } from './credentials.js'
import { HostSchemes, type HostScheme } from './host-schemes.js'
import { describeScopes, firstRepository, normalizeScopes } from './scopes.js'
import { TokenCache, type CachedToken } from './token-cache.js'
import { requestToken } from './token-client.js'
import { parseWwwAuthenticate, pickChallenge } from './www-authenticate.js'

export interface RegistryAuthOptions {
  /** ctx.env: where HOME, XDG_*, DOCKER_CONFIG, REGISTRY_AUTH_FILE and PATH (for helpers) come from. Never process.env. */
  env: Env
  fetch: typeof globalThis.fetch
  /** ctx.secret: every password, token and identity token found or received is registered here. */
  secret: (value: string) => void
  /**
   * Hosts ("host" or "host:port") the user declared plain-HTTP and trusted. Credentials go over
   * plain HTTP only to these and to loopback; anywhere else that is an error, never a silent send.
   */
  insecureHosts?: string[]
  /** Where credentials are looked up, in order. Default: the auth files `env` points at, with the helpers they name. */
  stores?: readonly CredentialStore[]
  /** OAuth2 client_id sent with the refresh_token grant. Default `modelcar`. */
  clientId?: string
  /** Clock for token expiry; tests inject one. Default Date.now. */
  now?: () => number
}

export interface RegistryAuth {
  /**
   * Sends the request with the right Authorization for the URL's host and `scopes`. On 401 it reads
   * WWW-Authenticate, finds credentials, fetches a token and retries once when the body is
   * replayable (none, string, bytes, URLSearchParams); a streamed body's first 401 is returned as
   * is, so the caller can `prepare` and stream again.
   *
   * Redirects are followed by core's fetchFollowing (`redirect: 'manual'` returns the first answer
   * instead): Authorization is dropped as soon as a hop leaves the registry's origin, so blob GETs
   * redirected to storage or a CDN never carry it; a streamed body is never redirected.
   *
   * Throws ModelcarError when authentication cannot succeed: REGISTRY_CREDENTIALS_REQUIRED (401,
   * no credentials), REGISTRY_CREDENTIALS_REJECTED (401 after credentials), REGISTRY_ACCESS_DENIED
   * (403 from the registry, or 401 insufficient_scope with a fresh token), REGISTRY_AUTH_FAILED,
   * REGISTRY_CREDENTIALS_INSECURE, REGISTRY_CREDENTIALS_UNREADABLE. Every other response is returned.
   */
  fetch(url: string, init: RequestInit, scopes: string[]): Promise<Response>
  /** Makes sure credentials or a token for (host, scopes) are ready before a streamed upload (does the `GET /v2/` challenge if needed). */
  prepare(registryBaseUrl: string, scopes: string[]): Promise<void>
  /** Where credentials for host came from, for messages (a file path or `docker-credential-<helper>`), never the secret. */
  describe(host: string): Promise<string | undefined>
}

export function createRegistryAuth(opts: RegistryAuthOptions): RegistryAuth {
  const auth = new RegistryAuthenticator(opts)
  return {
    fetch: (url, init, scopes) => auth.fetch(url, init, scopes),
    prepare: (registryBaseUrl, scopes) => auth.prepare(registryBaseUrl, scopes),
    describe: async (host) => (await auth.credentialsFor(host, []))?.source,
  }
}

/** What one request carried. */
interface Sent {
  kind: 'none' | 'basic' | 'bearer'
  token?: CachedToken
  credentials?: RegistryCredentials
}

class RegistryAuthenticator {
  private readonly schemes: HostSchemes
  private readonly tokens: TokenCache
  private readonly stores: readonly CredentialStore[]
  private readonly credentials = new Map<string, Promise<RegistryCredentials | undefined>>()
  private readonly insecure: Set<string>

  constructor(private readonly opts: RegistryAuthOptions) {
    this.schemes = new HostSchemes(opts.fetch)
    this.tokens = new TokenCache(opts.now ?? Date.now)
    this.stores = opts.stores ?? credentialStores(opts.env)
    this.insecure = new Set(opts.insecureHosts ?? [])
  }

  /** Credentials for the first repository in scopes (repository-scoped auth.json keys), else for the host; their secrets registered. */
  credentialsFor(host: string, scopes: string[]): Promise<RegistryCredentials | undefined> {
    const repo = firstRepository(scopes)
    const key = repo ? `${host}/${repo}` : host
    let found = this.credentials.get(key)
    if (!found) {
      found = findCredentials(key, this.opts.env, this.stores).then((c) => {
        if (c?.password) this.opts.secret(c.password)
        if (c?.identityToken) this.opts.secret(c.identityToken)
        return c
      })
      // A failed lookup (broken file, missing helper) is not cached: the user may fix it and retry.
      found.catch(() => this.credentials.delete(key))
      this.credentials.set(key, found)
    }
    return found
  }

  async fetch(url: string, init: RequestInit, scopes: string[]): Promise<Response> {
    const target = new URL(url)
    const method = (init.method ?? 'GET').toUpperCase()
    const replayable = isReplayableBody(init.body)
    let wanted = normalizeScopes(scopes)
    for (let attempt = 0; ; attempt++) {
      const { header, sent } = await this.authorize(target, wanted)
      const { response: res, url: answered } = await this.send(target, init, header)
      // Only the registry's own answers are about its auth; a redirected target's 401/403 is the caller's.
      if (answered.origin !== target.origin) return res
      const where = `${res.status} ${method} ${redactUrl(target)}`
      if (res.status === 403) throw await this.denied(res, target.host, sent, wanted, where)
      if (res.status !== 401) {
        if (sent.token) this.tokens.accepted(sent.token.token)
        return res
      }
      wanted = await this.afterUnauthorized(res, target.host, sent, wanted, attempt, where)
      if (!replayable) return res
      await res.body?.cancel()
    }
  }

  async prepare(registryBaseUrl: string, scopes: string[]): Promise<void> {
    const base = new URL('/v2/', registryBaseUrl)
    const wanted = normalizeScopes(scopes)
    const scheme = await this.schemes.of(base)
    if (scheme.kind === 'bearer') await this.bearerToken(base.host, scheme, wanted)
    else if (scheme.kind === 'basic') await this.verifyBasic(base, scheme, wanted)
  }

  /** Sends with `header` as Authorization; fetchFollowing drops it on a hop to another origin. */
  private send(url: URL, init: RequestInit, header: string | undefined): Promise<Followed> {
    const headers = new Headers(init.headers)
    if (header) headers.set('authorization', header)
    else headers.delete('authorization')
    return fetchFollowing(this.opts.fetch, url, { ...init, headers }, { maxRedirects: init.redirect === 'manual' ? 0 : 5 })
  }

  /** The Authorization header for a request to url, from what the host's last challenge said. */
  private async authorize(url: URL, scopes: string[]): Promise<{ header: string | undefined; sent: Sent }> {
    const host = url.host
    const scheme = this.schemes.get(host)
    if (!scheme || scheme.kind === 'none') return { header: undefined, sent: { kind: 'none' } }
    if (scheme.kind === 'basic') {
      const creds = await this.credentialsFor(host, scopes)
      if (!creds || creds.password === undefined) return { header: undefined, sent: { kind: 'none' } }
      this.assertSecureTransport(url, host)
      const basic = Buffer.from(`${creds.username ?? ''}:${creds.password}`).toString('base64')
      this.opts.secret(basic)
      return { header: `Basic ${basic}`, sent: { kind: 'basic', credentials: creds } }
    }
    const { credentials, ...token } = await this.bearerToken(host, scheme, scopes)
    this.assertSecureTransport(url, host)
    return { header: `Bearer ${token.token.token}`, sent: { kind: 'bearer', token, ...(credentials ? { credentials } : {}) } }
  }

  private async bearerToken(
    host: string,
    scheme: Extract<HostScheme, { kind: 'bearer' }>,
    scopes: string[],
  ): Promise<CachedToken & { credentials: RegistryCredentials | undefined }> {
    const credentials = await this.credentialsFor(host, scopes)
    const got = await this.tokens.get(`${host} ${scopes.join(' ')}`, () => {
      if (credentials) this.assertSecureTransport(new URL(scheme.realm), host)
      return requestToken({
        fetch: this.opts.fetch,
        secret: this.opts.secret,
        host,
        realm: scheme.realm,
        service: scheme.service,
        scopes,
        credentials,
        clientId: this.opts.clientId ?? 'modelcar',
        now: this.opts.now ?? Date.now,
      })
    })
    return { ...got, credentials }
  }

  private assertSecureTransport(url: URL, host: string): void {
    if (url.protocol === 'https:') return
    if (isLoopbackHost(url.host) || this.insecure.has(url.host) || this.insecure.has(url.hostname) || this.insecure.has(host)) return
    throw authErrors.registryCredentialsInsecure(host, redactUrl(url))
  }

  /**
   * A 401: learns its challenge and widens the scopes to what it asks for. Returns them when
   * another try may pass (new credentials or token); throws the error when none can.
   */
  private async afterUnauthorized(res: Response, host: string, sent: Sent, wanted: string[], attempt: number, where: string) {
    const challenge = this.schemes.learn(host, res.headers.get('www-authenticate'))
    const asked = challenge?.params['scope']?.split(' ').filter(Boolean) ?? []
    const widened = normalizeScopes([...wanted, ...asked])
    const grew = widened.join(' ') !== wanted.join(' ')
    if (sent.token) this.tokens.forget(sent.token.token)
    const canHelp =
      challenge !== undefined &&
      attempt < 2 &&
      (sent.kind === 'none'
        ? challenge.scheme === 'bearer' || (await this.credentialsFor(host, widened))?.password !== undefined
        : sent.kind === 'bearer' && (!sent.token?.fresh || grew))
    if (canHelp) return widened
    await res.body?.cancel()
    const credentials = sent.credentials ?? (await this.credentialsFor(host, widened))
    throw unansweredChallenge({ host, sent: sent.kind, credentials, challenge, scopes: widened, where })
  }

  /** A 403 from the registry: denied, with the registry's own code and message (read without letting a large body through). */
  private async denied(res: Response, host: string, sent: Sent, wanted: string[], where: string): Promise<ModelcarError> {
    const first = parseDistributionErrors((await res.text().catch(() => '')).slice(0, 4096))[0]
    const detail = first?.code ? ` ${first.code}${first.message ? `: ${first.message}` : ''}` : ''
    const creds = sent.credentials ?? (await this.credentialsFor(host, wanted))
    return authErrors.registryAccessDenied(host, describeScopes(wanted), creds?.source, `${where}${detail}`)
  }

  /** Basic has no token step that would reject a wrong password, so ask `/v2/` once now rather than fail halfway through a streamed upload. */
  private async verifyBasic(base: URL, scheme: Extract<HostScheme, { kind: 'basic' }>, wanted: string[]): Promise<void> {
    const host = base.host
    const where = `401 GET ${base.href}`
    const creds = await this.credentialsFor(host, wanted)
    if (!creds) throw authErrors.registryCredentialsRequired(host, where)
    if (creds.password === undefined) throw authErrors.passwordWanted(host, creds.source, where)
    const verifiedKey = `${creds.source}\0${creds.username ?? ''}`
    if (scheme.verified.has(verifiedKey)) return
    const { header, sent } = await this.authorize(base, wanted)
    const { response: res } = await this.send(base, { method: 'GET' }, header)
    await res.body?.cancel()
    if (res.status === 401) {
      const challenge = pickChallenge(parseWwwAuthenticate(res.headers.get('www-authenticate') ?? ''))
      throw unansweredChallenge({ host, sent: sent.kind, credentials: sent.credentials ?? creds, challenge, scopes: wanted, where })
    }
    scheme.verified.add(verifiedKey)
  }
}
