// Authenticated requests to OCI registries: learns each host's scheme from its 401 challenge,
// answers Basic with the user's credentials and Bearer with cached tokens, and keeps credentials
// on the registry's own origin.
import { authErrors } from './auth-errors.js'
import { errors } from '@modelcar/core'
import { isLoopbackHost } from '../client/image-reference.js'
import { parseDistributionErrors } from '../client/registry-errors.js'
import { findCredentials, type Env, type RegistryCredentials } from './credentials.js'
import { describeScopes, parseScope, requestToken, type Token } from './token-client.js'
import { parseWwwAuthenticate, pickChallenge, type AuthChallenge } from './www-authenticate.js'

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
  /** OAuth2 client_id sent with the refresh_token grant. Default `modelcar`. */
  clientId?: string
  /** Clock for token expiry; tests inject one. Default Date.now. */
  now?: () => number
}

export interface RegistryAuth {
  /**
   * Sends the request with the right Authorization for the URL's host and `scopes`. On 401 it reads
   * WWW-Authenticate, finds credentials, fetches a token and retries once when the body is
   * replayable (none, string, Uint8Array/ArrayBuffer, URLSearchParams); a streamed body's first 401
   * is returned as is, so the caller can `prepare` and stream again.
   *
   * Redirects are followed here (the caller's `redirect` is ignored unless it is 'manual' or
   * 'error'): Authorization is kept only while the target has the registry's origin, so blob GETs
   * redirected to storage or a CDN never carry it. A streamed body is sent with redirect 'error'
   * (unless the caller asks for 'manual'): Node's fetch would otherwise keep a copy of the stream.
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

type HostScheme =
  { kind: 'none' } | { kind: 'basic'; verified: Set<string> } | { kind: 'bearer'; realm: string; service: string | undefined }

interface Sent {
  kind: 'none' | 'basic' | 'bearer'
  /**
   * A bearer token the registry has not accepted yet (just issued, or issued in prepare): a 401 with
   * it will not go away by fetching another, so it ends in an error instead of a loop.
   */
  fresh: boolean
  token?: Token
  credentials?: RegistryCredentials
}

const REDIRECT = new Set([301, 302, 303, 307, 308])
const MAX_REDIRECTS = 5

export function createRegistryAuth(opts: RegistryAuthOptions): RegistryAuth {
  const schemes = new Map<string, HostScheme>()
  const credentials = new Map<string, Promise<RegistryCredentials | undefined>>()
  const tokens = new Map<string, Token>()
  const pendingTokens = new Map<string, Promise<Token>>()
  const probes = new Map<string, Promise<void>>()
  /** Tokens the registry has answered something other than 401 to. */
  const proven = new WeakSet<Token>()
  const now = opts.now ?? Date.now
  const clientId = opts.clientId ?? 'modelcar'
  const insecure = new Set(opts.insecureHosts ?? [])

  /** Credentials for the first repository in scopes (repository-scoped auth.json keys), else for the host. */
  function credentialsFor(host: string, scopes: string[]): Promise<RegistryCredentials | undefined> {
    const repo = scopes.map(parseScope).find((s) => s?.type === 'repository')?.name
    const key = repo ? `${host}/${repo}` : host
    let found = credentials.get(key)
    if (!found) {
      found = findCredentials(key, opts.env).then((c) => {
        if (c?.password) opts.secret(c.password)
        if (c?.identityToken) opts.secret(c.identityToken)
        return c
      })
      // A failed lookup (broken file, missing helper) is not cached: the user may fix it and retry.
      found.catch(() => credentials.delete(key))
      credentials.set(key, found)
    }
    return found
  }

  function assertSecureTransport(url: URL, host: string): void {
    if (url.protocol === 'https:') return
    if (isLoopbackHost(url.host) || insecure.has(url.host) || insecure.has(url.hostname) || insecure.has(host)) return
    throw authErrors.registryCredentialsInsecure(host, `${url.origin}${url.pathname}`)
  }

  async function bearerToken(
    host: string,
    scheme: Extract<HostScheme, { kind: 'bearer' }>,
    scopes: string[],
  ): Promise<{ token: Token; fresh: boolean; credentials: RegistryCredentials | undefined }> {
    const key = `${host} ${scopes.join(' ')}`
    const creds = await credentialsFor(host, scopes)
    const cached = tokens.get(key)
    if (cached && cached.expiresAt > now()) return { token: cached, fresh: !proven.has(cached), credentials: creds }
    let pending = pendingTokens.get(key)
    if (!pending) {
      if (creds) assertSecureTransport(new URL(scheme.realm), host)
      pending = requestToken({
        fetch: opts.fetch,
        secret: opts.secret,
        host,
        realm: scheme.realm,
        service: scheme.service,
        scopes,
        credentials: creds,
        clientId,
        now,
      })
      pendingTokens.set(key, pending)
      pending.then(
        (t) => {
          tokens.set(key, t)
          pendingTokens.delete(key)
        },
        () => pendingTokens.delete(key),
      )
    }
    return { token: await pending, fresh: true, credentials: creds }
  }

  /** The Authorization header for a request to url, from what the host's last challenge said. */
  async function authorize(url: URL, scopes: string[]): Promise<{ header: string | undefined; sent: Sent }> {
    const host = url.host
    const scheme = schemes.get(host)
    if (!scheme || scheme.kind === 'none') return { header: undefined, sent: { kind: 'none', fresh: false } }
    if (scheme.kind === 'basic') {
      const creds = await credentialsFor(host, scopes)
      if (!creds || creds.password === undefined) return { header: undefined, sent: { kind: 'none', fresh: false } }
      assertSecureTransport(url, host)
      const basic = Buffer.from(`${creds.username ?? ''}:${creds.password}`).toString('base64')
      opts.secret(basic)
      return { header: `Basic ${basic}`, sent: { kind: 'basic', fresh: false, credentials: creds } }
    }
    const got = await bearerToken(host, scheme, scopes)
    assertSecureTransport(url, host)
    return {
      header: `Bearer ${got.token.token}`,
      sent: { kind: 'bearer', fresh: got.fresh, token: got.token, ...(got.credentials ? { credentials: got.credentials } : {}) },
    }
  }

  /** Remembers what a 401 asked for. Returns the challenge, or undefined when it is not one we can answer. */
  function learn(host: string, header: string | null): AuthChallenge | undefined {
    const challenge = pickChallenge(parseWwwAuthenticate(header ?? ''))
    if (!challenge) return undefined
    if (challenge.scheme === 'basic') {
      const prev = schemes.get(host)
      if (prev?.kind !== 'basic') schemes.set(host, { kind: 'basic', verified: new Set() })
    } else {
      const realm = challenge.params['realm']
      if (!realm || !/^https?:\/\//i.test(realm)) return undefined
      schemes.set(host, { kind: 'bearer', realm, service: challenge.params['service'] })
    }
    return challenge
  }

  /** The error for a 401 that another attempt cannot fix. */
  async function failure(host: string, sent: Sent, challenge: AuthChallenge | undefined, scopes: string[], where: string): Promise<Error> {
    if (!challenge) return authErrors.registryAuthFailed(host, `the registry answered 401 without a Basic or Bearer challenge [${where}]`)
    const creds = sent.credentials ?? (await credentialsFor(host, scopes))
    if (!creds) return authErrors.registryCredentialsRequired(host, where)
    if (sent.kind === 'basic') return authErrors.registryCredentialsRejected(host, creds.source, where)
    if (challenge.scheme === 'basic') {
      // An identity token is only good for a token server's OAuth2 endpoint; Basic needs a password.
      return authErrors.registryAuthFailed(
        host,
        `the registry wants a password (Basic), but \`${creds.source}\` holds only an identity token [${where}]`,
      )
    }
    if (challenge.params['error'] === 'insufficient_scope') {
      return authErrors.registryAccessDenied(
        host,
        describeScopes(normalizeScopes(challenge.params['scope']?.split(' ') ?? scopes)),
        creds.source,
        where,
      )
    }
    return authErrors.registryAuthFailed(
      host,
      `the registry refused a token its token server just issued (${challenge.params['error'] ?? 'no reason given'}) [${where}]`,
    )
  }

  async function fetchWithAuth(url: string, init: RequestInit, scopes: string[]): Promise<Response> {
    const target = new URL(url)
    const host = target.host
    let wanted = normalizeScopes(scopes)
    const replayable = isReplayable(init.body)
    const method = (init.method ?? 'GET').toUpperCase()
    for (let attempt = 0; ; attempt++) {
      const { header, sent } = await authorize(target, wanted)
      const { res, finalUrl } = await send(opts.fetch, target, init, header, replayable)
      // Only the registry's own answers are about its auth; a redirected target's 401/403 is the caller's.
      if (finalUrl.origin !== target.origin) return res
      const where = `${res.status} ${method} ${target.origin}${target.pathname}`
      if (res.status === 403) {
        const detail = await registryErrorCode(res)
        const creds = sent.credentials ?? (await credentialsFor(host, wanted))
        throw authErrors.registryAccessDenied(host, describeScopes(wanted), creds?.source, `${where}${detail ? ` ${detail}` : ''}`)
      }
      if (res.status !== 401) {
        if (sent.token) proven.add(sent.token)
        return res
      }
      const challenge = learn(host, res.headers.get('www-authenticate'))
      const asked = challenge?.params['scope']?.split(' ').filter(Boolean) ?? []
      const widened = normalizeScopes([...wanted, ...asked])
      const grew = widened.join(' ') !== wanted.join(' ')
      wanted = widened
      if (sent.kind === 'bearer' && sent.token) {
        // Expired early, revoked, or too narrow: this token is done either way.
        for (const [key, t] of tokens) if (t === sent.token) tokens.delete(key)
      }
      const canHelp =
        challenge !== undefined &&
        attempt < 2 &&
        (sent.kind === 'none'
          ? challenge.scheme === 'bearer' || (await credentialsFor(host, wanted))?.password !== undefined
          : sent.kind === 'bearer' && (!sent.fresh || grew))
      if (!canHelp) {
        await res.body?.cancel()
        throw await failure(host, sent, challenge, wanted, where)
      }
      if (!replayable) return res
      await res.body?.cancel()
    }
  }

  async function prepare(registryBaseUrl: string, scopes: string[]): Promise<void> {
    const base = new URL('/v2/', registryBaseUrl)
    const host = base.host
    const wanted = normalizeScopes(scopes)
    if (!schemes.has(host)) {
      // Uploads starting together share one probe.
      let probe = probes.get(host)
      if (!probe) {
        probe = probeScheme(base)
        probes.set(host, probe)
        void probe.then(
          () => probes.delete(host),
          () => probes.delete(host),
        )
      }
      await probe
    }
    const scheme = schemes.get(host)!
    if (scheme.kind === 'none') return
    if (scheme.kind === 'bearer') {
      await bearerToken(host, scheme, wanted)
      return
    }
    const creds = await credentialsFor(host, wanted)
    if (!creds) throw authErrors.registryCredentialsRequired(host, `401 GET ${base.href}`)
    if (creds.password === undefined) {
      throw authErrors.registryAuthFailed(
        host,
        `the registry wants a password (Basic), but \`${creds.source}\` holds only an identity token [401 GET ${base.href}]`,
      )
    }
    const verifiedKey = `${creds.source}\0${creds.username ?? ''}`
    if (scheme.verified.has(verifiedKey)) return
    // Basic has no token step that would reject a wrong password, so ask /v2/ once now rather than
    // fail halfway through a streamed upload.
    const { header, sent } = await authorize(base, wanted)
    const { res } = await send(opts.fetch, base, { method: 'GET' }, header, true)
    await res.body?.cancel()
    if (res.status === 401)
      throw await failure(
        host,
        sent,
        pickChallenge(parseWwwAuthenticate(res.headers.get('www-authenticate') ?? '')),
        wanted,
        `401 GET ${base.href}`,
      )
    scheme.verified.add(verifiedKey)
  }

  /** `GET /v2/` without credentials: what the registry's challenge asks for. */
  async function probeScheme(base: URL): Promise<void> {
    const host = base.host
    const res = await opts.fetch(base, { method: 'GET', redirect: 'manual' }).catch((err: unknown) => {
      throw authErrors.registryAuthFailed(host, `cannot reach \`${base.href}\`: ${(err as Error).message}`, true)
    })
    await res.body?.cancel()
    if (res.status === 401) {
      if (!learn(host, res.headers.get('www-authenticate'))) {
        throw authErrors.registryAuthFailed(host, `the registry answered 401 without a Basic or Bearer challenge [401 GET ${base.href}]`)
      }
    } else if (res.ok) schemes.set(host, { kind: 'none' })
    else
      throw authErrors.registryAuthFailed(
        host,
        `\`GET ${base.href}\` answered ${res.status}; is this an OCI registry?`,
        res.status === 429 || res.status >= 500,
      )
  }

  async function describe(host: string): Promise<string | undefined> {
    return (await credentialsFor(host, []))?.source
  }

  return { fetch: fetchWithAuth, prepare, describe }
}

/**
 * Sends init to url with Authorization set to header, following redirects by hand so that the
 * header is dropped as soon as a hop leaves the registry's origin.
 */
async function send(
  fetchFn: typeof globalThis.fetch,
  url: URL,
  init: RequestInit,
  header: string | undefined,
  replayable: boolean,
): Promise<{ res: Response; finalUrl: URL }> {
  const headers = new Headers(init.headers)
  if (header) headers.set('authorization', header)
  else headers.delete('authorization')
  if (init.redirect === 'manual' || init.redirect === 'error') return { res: await fetchFn(url, { ...init, headers }), finalUrl: url }
  // Node's fetch keeps a copy (a tee) of a streamed body unless redirect is 'error', so that it can
  // follow a 307/308: for a multi-GiB layer that copy grows with every unread chunk. A streamed
  // body could not be re-sent by us anyway.
  if (!replayable) return { res: await fetchFn(url, { ...init, headers, redirect: 'error' }), finalUrl: url }
  let current = url
  let method = (init.method ?? 'GET').toUpperCase()
  let body = init.body
  for (let hop = 0; ; hop++) {
    const res = await fetchFn(current, { ...init, method, body, headers, redirect: 'manual' })
    const location = res.headers.get('location')
    if (!REDIRECT.has(res.status) || !location || hop >= MAX_REDIRECTS) return { res, finalUrl: current }
    await res.body?.cancel()
    if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
      if (method !== 'HEAD') method = 'GET'
      body = undefined
      headers.delete('content-type')
      headers.delete('content-length')
    }
    const next = new URL(location, current)
    if (next.origin !== url.origin) headers.delete('authorization')
    current = next
  }
}

/** The registry's error code and message from a JSON error body, without letting a large body through. */
async function registryErrorCode(res: Response): Promise<string> {
  const first = parseDistributionErrors((await res.text().catch(() => '')).slice(0, 4096))[0]
  return first?.code ? `${first.code}${first.message ? `: ${first.message}` : ''}` : ''
}

function isReplayable(body: RequestInit['body']): boolean {
  return (
    body === undefined ||
    body === null ||
    typeof body === 'string' ||
    body instanceof Uint8Array ||
    body instanceof ArrayBuffer ||
    body instanceof URLSearchParams ||
    (typeof Blob !== 'undefined' && body instanceof Blob)
  )
}

/**
 * Sorted, and one entry per resource with its actions merged (`pull` + `push` → `pull,push`), so
 * the token cache key does not depend on the caller's order and the token server sees each repository once.
 */
export function normalizeScopes(scopes: string[]): string[] {
  const merged = new Map<string, Set<string>>()
  const opaque: string[] = []
  for (const scope of scopes) {
    const p = parseScope(scope)
    if (!p) {
      if (scope) opaque.push(scope)
      continue
    }
    const key = `${p.type}:${p.name}`
    const actions = merged.get(key) ?? new Set<string>()
    for (const a of p.actions) if (a) actions.add(a)
    merged.set(key, actions)
  }
  const out = [...merged].map(([key, actions]) => `${key}:${[...actions].sort().join(',')}`)
  return [...new Set([...out, ...opaque])].sort()
}
