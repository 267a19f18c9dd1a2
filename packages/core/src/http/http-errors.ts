// HTTP failures as ModelcarErrors with typed facts: `[GET] https://host/path: 503 Service
// Unavailable: <the server's words> [request id …]`, `retryable` from the status or the network
// code, `retryAfterMs` from Retry-After, and `http` ({ method, url, status, requestId, serverCodes }).
// Components wrap them with their own code and hint; the URL never carries a query or user info.
import type { HttpFacts } from '../errors/modelcar-error.js'
import { ModelcarError } from '../errors/modelcar-error.js'
import { redactUrl } from './redact-url.js'
import { isRetryableStatus, isTransientNetworkError } from './retryable.js'
import { parseRetryAfter } from './retry-policy.js'

const REQUEST_ID_HEADERS = ['x-request-id', 'x-amz-request-id', 'x-amzn-requestid', 'cf-ray']

export interface RefusalOptions {
  /** The error code; default HTTP_REFUSED. */
  code?: string
  /** What the server said, read from its body or headers by the caller (a registry's JSON errors). */
  detail?: string
  /** Machine-readable codes in the answer (a registry's `errors[].code`). */
  serverCodes?: string[]
  hint?: string
  /** Bad input (a missing repository, wrong credentials) rather than a failed run. */
  input?: boolean
  /** Default: the status is one worth asking again (408, 429, 5xx). */
  retryable?: boolean
}

/** The facts of a response that is not the one wanted. */
export function responseFacts(res: Response, method: string, url: string, serverCodes?: string[]): HttpFacts {
  const requestId = REQUEST_ID_HEADERS.map((h) => res.headers.get(h)).find((v) => v)
  return {
    method,
    url: redactUrl(url),
    status: res.status,
    ...(requestId ? { requestId } : {}),
    ...(serverCodes?.length ? { serverCodes } : {}),
  }
}

/** An answer with a status that is not the one wanted. Does not read the body: the caller has read what it wanted from it. */
export function httpRefusal(res: Response, method: string, url: string, opts: RefusalOptions = {}): ModelcarError {
  const http = responseFacts(res, method, url, opts.serverCodes)
  const status = `${res.status}${res.statusText ? ` ${res.statusText}` : ''}`
  const message = `[${method}] ${http.url}: ${status}${opts.detail ? `: ${opts.detail}` : ''}${http.requestId ? ` [request id ${http.requestId}]` : ''}`
  const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'))
  return new ModelcarError(opts.code ?? 'HTTP_REFUSED', message, {
    hint: opts.hint,
    input: opts.input ?? false,
    retryable: opts.retryable ?? isRetryableStatus(res.status),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    http,
  })
}

export interface UnreachableOptions {
  /** Default HTTP_UNREACHABLE. */
  code?: string
  /** Overrides the hint for unknown hosts, refused connections and TLS failures. */
  hint?: string
}

/** No answer at all: an unknown host, a refused or cut connection, a TLS failure. */
export function httpUnreachable(err: unknown, method: string, url: string, opts: UnreachableOptions = {}): ModelcarError {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause
  const code = cause?.code ?? (err as { code?: string })?.code
  const detail = cause?.message ?? (err instanceof Error ? err.message : String(err))
  const host = hostOf(url)
  const hint =
    opts.hint ??
    (code === 'ENOTFOUND' || code === 'EAI_AGAIN'
      ? `the host \`${host}\` is unknown; check the name`
      : code === 'ECONNREFUSED'
        ? `nothing listens at \`${host}\`; is the server running, and is the port right?`
        : /certificate|SSL|TLS|self.signed/i.test(detail) || code?.startsWith('ERR_TLS') || code?.includes('CERT')
          ? `TLS to \`${host}\` failed; trust the server's CA with NODE_EXTRA_CA_CERTS`
          : undefined)
  return new ModelcarError(opts.code ?? 'HTTP_UNREACHABLE', `[${method}] ${redactUrl(url)}: ${code ? `${code} ` : ''}${detail}`, {
    hint,
    retryable: isTransientNetworkError(err) || code === 'EAI_AGAIN',
    cause: err,
    http: { method, url: redactUrl(url) },
  })
}

function hostOf(url: string): string {
  try {
    return new URL(url).host
  } catch {
    return url
  }
}
