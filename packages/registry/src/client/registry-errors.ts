// Registry failures as ModelcarErrors: method, URL (without its query: upload state tokens are
// long and useless to a person), status, the registry's own error code and message, and a hint
// for the usual causes. Never a header or a credential.
import { isRetryable, ModelcarError, parseRetryAfter, type ModelcarErrorOptions } from '@modelcar/core'

type RegistryErrorOptions = Pick<ModelcarErrorOptions, 'hint' | 'retryable' | 'cause' | 'retryAfterMs' | 'http'>

export const registryErrors = {
  /** A registry answered with an error status: the message names method, URL, status and the registry's own code. */
  registryRefused(message: string, opts: RegistryErrorOptions = {}): ModelcarError {
    return new ModelcarError('REGISTRY_REFUSED', message, opts)
  },
  /** No HTTP answer at all: unknown host, refused or cut connection. */
  registryUnreachable(message: string, opts: RegistryErrorOptions = {}): ModelcarError {
    return new ModelcarError('REGISTRY_UNREACHABLE', message, opts)
  },
}

export interface DistributionError {
  code?: string
  message?: string
  detail?: unknown
}

/** The part of a URL a message shows: origin and path. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url)
    return `${u.origin}${u.pathname}`
  } catch {
    return url.replace(/\?.*$/, '')
  }
}

export function parseDistributionErrors(text: string): DistributionError[] {
  try {
    const body = JSON.parse(text) as { errors?: DistributionError[] }
    return Array.isArray(body.errors) ? body.errors : []
  } catch {
    return []
  }
}

export interface RefusalContext {
  method: string
  url: string
  /** `host/repo`, for hints. */
  repository: string
  /** Where the credentials came from (a path, a helper), for a 401's hint. */
  credentials?: string | undefined
}

/** Status codes a registry answers when it is busy or restarting: worth asking again. */
export const RETRY_STATUSES = new Set([408, 429, 500, 502, 503, 504])

export async function refusal(res: Response, c: RefusalContext): Promise<ModelcarError> {
  const text = await res.text().catch(() => '')
  const errs = parseDistributionErrors(text)
  const what = errs.length
    ? errs
        .map(
          (e) =>
            `${e.code ?? 'ERROR'}${e.message ? ` ${e.message}` : ''}${typeof e.detail === 'string' && e.detail ? ` (${e.detail})` : ''}`,
        )
        .join('; ')
    : (text.trim().split('\n')[0]?.slice(0, 200) ?? '')
  const message = `${c.method} ${displayUrl(c.url)}: ${res.status}${res.statusText ? ` ${res.statusText}` : ''}${what ? `: ${what}` : ''}`
  const codes = new Set(errs.map((e) => e.code))
  let hint: string | undefined
  if (res.status === 401) {
    hint = c.credentials
      ? `the registry rejected the credentials for \`${hostOf(c.url)}\` from ${c.credentials}; log in again (\`podman login\`, \`docker login\`)`
      : `no credentials for \`${hostOf(c.url)}\` were found; log in with \`podman login ${hostOf(c.url)}\` or set REGISTRY_AUTH_FILE`
  } else if (res.status === 403 || codes.has('DENIED')) {
    hint = `the account may not ${c.method === 'GET' || c.method === 'HEAD' ? 'read' : 'push to'} \`${c.repository}\`; check the repository name and its permissions`
  } else if (codes.has('NAME_UNKNOWN')) {
    hint = `\`${c.repository}\` does not exist on the registry (or is not visible to this account)`
  } else if (codes.has('MANIFEST_INVALID') || codes.has('MANIFEST_BLOB_UNKNOWN') || res.status === 415) {
    hint = 'the registry refused the image manifest; it may not accept this media type or artifact type, or a blob it names is missing'
  } else if (res.status === 416 || res.status === 413) {
    hint = 'the registry refused the upload size; set a smaller `chunkSize` or `upload: streamed` on the sink'
  } else if (res.status === 405 && c.method === 'PATCH') {
    hint = 'the registry refuses chunked uploads; set `upload: monolithic` on the sink'
  }
  const err = registryErrors.registryRefused(message, { hint, retryable: RETRY_STATUSES.has(res.status) })
  const after = res.headers.get('retry-after')
  if (after !== null) Object.assign(err, { retryAfterMs: retryAfterMs(after) })
  return Object.assign(err, { status: res.status, registryCodes: [...codes].filter(Boolean) })
}

export function unreachable(err: unknown, c: RefusalContext): ModelcarError {
  if ((err as { name?: string })?.name === 'AbortError') return err as ModelcarError
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause
  const code = cause?.code ?? (err as { code?: string })?.code
  const detail = cause?.message ?? (err instanceof Error ? err.message : String(err))
  const host = hostOf(c.url)
  const hint =
    code === 'ENOTFOUND' || code === 'EAI_AGAIN'
      ? `the host \`${host}\` is unknown; check the registry name in the reference`
      : code === 'ECONNREFUSED'
        ? `nothing listens at \`${host}\`; is the registry running, and is the port right?`
        : /certificate|SSL|TLS|self.signed/i.test(detail) || code?.startsWith('ERR_TLS') || code?.includes('CERT')
          ? `TLS to \`${host}\` failed; trust the registry's CA (NODE_EXTRA_CA_CERTS), or for a test registry set \`insecure: true\` on the sink`
          : undefined
  return registryErrors.registryUnreachable(`${c.method} ${displayUrl(c.url)}: ${code ? `${code} ` : ''}${detail}`, {
    hint,
    retryable: isRetryable(err) || code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE' || detail === 'other side closed',
    cause: err,
  })
}

/** Milliseconds from a Retry-After value (core's parsing; 1 s when unreadable), capped so a run cannot stall. */
export function retryAfterMs(header: string): number {
  return Math.min(parseRetryAfter(header) ?? 1000, 120_000)
}

function hostOf(url: string): string {
  try {
    return new URL(url).host
  } catch {
    return url
  }
}
