// What the Hub's refusals mean for the user: gated, private or missing repos, missing revisions
// and files, a token that is not valid — each said plainly, with where to go next, and with the
// typed HTTP facts (status, request id, the Hub's X-Error-Code) on the error. The token never
// appears, and URLs lose their query (a CDN link carries a signature there).
import { HubApiError } from '@huggingface/hub'
import {
  httpUnreachable,
  isModelcarError,
  isRetryableStatus,
  ModelcarError,
  optionsOf,
  parseRetryAfter,
  redactUrl,
  type HttpFacts,
} from '@modelcar/core'
import type { FoundToken } from './hub-token.js'

/** What a failed Hub response said, read from its headers and body (the JS client keeps neither). */
export interface HubRefusal {
  method: string
  status: number
  /** Where the answer came from; redacted before it is shown. */
  url: string
  /** X-Error-Code: `GatedRepo`, `RepoNotFound`, `RevisionNotFound`, `EntryNotFound`. */
  errorCode: string | undefined
  /** X-Error-Message, else the body's `error`. */
  errorMessage: string | undefined
  requestId: string | undefined
  retryAfterMs: number | undefined
}

export interface RepoRef {
  /** `org/name`, `datasets/org/name`. */
  id: string
  kind: 'model' | 'dataset'
  type: 'model' | 'dataset'
  name: string
  webUrl: string
}

/** Who asked for what: the words of every message about a refusal. */
export interface HubAsk {
  repo: RepoRef
  revision: string
  token: FoundToken | undefined
}

export function refusalOf(res: Response, method: string, url: string, bodyMessage?: string): HubRefusal {
  return {
    method,
    status: res.status,
    url,
    errorCode: res.headers.get('x-error-code') ?? undefined,
    errorMessage: res.headers.get('x-error-message') ?? bodyMessage,
    requestId: res.headers.get('x-request-id') ?? undefined,
    retryAfterMs: parseRetryAfter(res.headers.get('retry-after')),
  }
}

interface Meaning {
  message: string
  hint?: string
  input: boolean
}

/** The first rule that fits says what a refusal means; none fits: the Hub's own words. */
const MEANINGS: ((r: HubRefusal, a: HubAsk) => Meaning | undefined)[] = [
  (r, { repo, token }) =>
    r.errorCode === 'GatedRepo' || /restricted/i.test(r.errorMessage ?? '')
      ? {
          message: `${repo.kind} \`${repo.name}\` is gated: ${token ? `the token from ${token.from} has no access to it` : 'it needs a token with access'}`,
          hint: `request access at ${repo.webUrl}, then give a token of that account (HF_TOKEN, or \`hf auth login\`)`,
          input: true,
        }
      : undefined,
  (r, { repo, revision }) =>
    r.errorCode === 'RevisionNotFound' || (r.status === 404 && /rev/i.test(r.errorMessage ?? ''))
      ? {
          message: `revision \`${revision}\` does not exist in ${repo.kind} \`${repo.name}\``,
          hint: 'give a branch, a tag or a full commit sha that exists (see the repo’s “Files and versions” tab)',
          input: true,
        }
      : undefined,
  (r, { repo, revision }) =>
    r.errorCode === 'EntryNotFound'
      ? {
          message: `a file of ${repo.kind} \`${repo.name}\` is missing at \`${revision}\``,
          hint: 'the revision changed while it was read; run again',
          input: false,
        }
      : undefined,
  (r, { repo, token }) =>
    r.status === 401 || r.status === 404 || r.errorCode === 'RepoNotFound'
      ? {
          message: `${repo.kind} \`${repo.name}\` was not found, or it is private`,
          hint: r.errorMessage?.includes('Invalid credentials')
            ? `the token from ${token?.from} is not valid: create a new one at https://huggingface.co/settings/tokens`
            : token
              ? `check the name; if it is private, the token from ${token.from} must belong to an account with access`
              : 'check the name; if it is private, give a token (HF_TOKEN, or `hf auth login`)',
          input: true,
        }
      : undefined,
  (r, { repo, token }) =>
    r.status === 403
      ? {
          message: `access to ${repo.kind} \`${repo.name}\` is denied`,
          hint: `the token from ${token?.from} lacks the read permission`,
          input: true,
        }
      : undefined,
  (r) =>
    r.status === 429
      ? {
          message: `the Hub is rate limiting requests for ${redactUrl(r.url)}`,
          hint: `${r.retryAfterMs ? `it asked for a pause of ${Math.ceil(r.retryAfterMs / 1000)} s; ` : ''}wait and run again; a token (HF_TOKEN) gives higher limits`,
          input: false,
        }
      : undefined,
]

export function refusalError(r: HubRefusal, ask: HubAsk): ModelcarError {
  const tail = `[${r.status}${r.requestId ? `, request id ${r.requestId}` : ''}]`
  const meaning = MEANINGS.reduce<Meaning | undefined>((found, rule) => found ?? rule(r, ask), undefined) ?? {
    message: `the Hub answered ${r.status} for ${redactUrl(r.url)}${r.errorMessage ? `: ${r.errorMessage}` : ''}`,
    input: false,
  }
  const http: HttpFacts = {
    method: r.method,
    url: redactUrl(r.url),
    status: r.status,
    ...(r.requestId ? { requestId: r.requestId } : {}),
    ...(r.errorCode ? { serverCodes: [r.errorCode] } : {}),
  }
  return new ModelcarError('COMPONENT_FAILED', `${meaning.message} ${tail}`, {
    hint: meaning.hint,
    input: meaning.input,
    retryable: isRetryableStatus(r.status),
    ...(r.retryAfterMs !== undefined ? { retryAfterMs: r.retryAfterMs } : {}),
    http,
  })
}

/**
 * Whatever a call of the Hub client threw, as a ModelcarError: a refusal (its headers recorded by
 * URL as it passed, since the client keeps none) with its meaning, anything else as it is. The
 * listing's fetch has retried already (retryingFetch), so what comes out here is not retryable.
 */
export function hubFailure(err: unknown, ask: HubAsk, refusals: ReadonlyMap<string, HubRefusal>): ModelcarError {
  if (err instanceof HubApiError) {
    const said = (err.data ?? {}) as { error?: unknown; message?: unknown }
    const bodyMessage = typeof said.error === 'string' ? said.error : typeof said.message === 'string' ? said.message : undefined
    const seen = refusals.get(err.url)
    const refusal: HubRefusal = {
      method: seen?.method ?? 'GET',
      status: err.statusCode,
      url: err.url,
      errorCode: seen?.errorCode,
      errorMessage: seen?.errorMessage ?? bodyMessage,
      requestId: err.requestId ?? seen?.requestId,
      retryAfterMs: seen?.retryAfterMs,
    }
    return spentHere(refusalError(refusal, ask), err)
  }
  if (isModelcarError(err)) return spentHere(err, err.cause)
  return new ModelcarError('COMPONENT_FAILED', err instanceof Error ? err.message : String(err), { cause: err })
}

function spentHere(err: ModelcarError, cause: unknown): ModelcarError {
  return err.retryable ? new ModelcarError(err.code, err.message, { ...optionsOf(err), retryable: false, cause }) : err
}

/** No answer from the Hub at all (unknown host, refused or cut connection): the request's facts, and where to look. */
export function hubUnreachable(err: unknown, method: string, url: string): ModelcarError {
  const e = httpUnreachable(err, method, url)
  return new ModelcarError(e.code, `cannot reach the Hub: ${e.message}`, {
    hint: e.hint ?? 'check the network, proxy settings, or `endpoint`/HF_ENDPOINT',
    retryable: e.retryable,
    cause: err,
    http: e.http,
  })
}
