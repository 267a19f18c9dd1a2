// Opens a Hub file at a byte offset, in one attempt: GET resolve/<commit>/<path> with a Range,
// the redirect to the CDN followed by core's fetchFollowing (the token stays on the Hub's
// origin). A 429 or 503 is a retryable error carrying the Retry-After the Hub asked for, and a
// cut body breaks off as a retryable error: the engine waits and opens again from the byte it
// has, by the project's one retry policy — the source never waits or retries itself.
import { fetchFollowing, isModelcarError, isTransientNetworkError, ModelcarError, redactUrl, skipBytes } from '@modelcar/core'
import { hubUnreachable, refusalOf, type HubRefusal } from './hub-errors.js'

export interface OpenParams {
  fetch: typeof globalThis.fetch
  url: string
  token: string | undefined
  start: number
  /** The ETag the bytes must carry (quoted sha256 for LFS files on the CDN, git sha1 otherwise). */
  etags: string[]
  signal: AbortSignal | undefined
  refused: (r: HubRefusal) => ModelcarError
}

const MAX_REDIRECTS = 5

export async function openHubFile(p: OpenParams): Promise<AsyncIterable<Uint8Array>> {
  const hubOrigin = new URL(p.url).origin
  const headers: Record<string, string> = {}
  if (p.token) headers.Authorization = `Bearer ${p.token}`
  if (p.start > 0) headers.Range = `bytes=${p.start}-`
  // The Hub's own answer (a 302 to the CDN, or the bytes) names the content; a CDN's ETag is its own.
  const onResponse = (res: Response, url: URL) => {
    if (url.origin === hubOrigin && (res.ok || res.status === 302)) checkEtag(res, p.etags)
  }
  let followed
  try {
    followed = await fetchFollowing(p.fetch, p.url, { headers, signal: p.signal }, { maxRedirects: MAX_REDIRECTS, onResponse })
  } catch (err) {
    throw isModelcarError(err) ? err : hubUnreachable(err, 'GET', p.url)
  }
  const { response: res, url } = followed
  if (res.status >= 300 && res.status < 400) {
    await res.body?.cancel()
    throw new ModelcarError('COMPONENT_FAILED', `too many redirects for ${redactUrl(p.url)}`)
  }
  if (!res.ok) {
    const text = await res.text().catch(() => '')
    throw p.refused(refusalOf(res, 'GET', url.href, jsonError(text)))
  }
  if (!res.body) throw new ModelcarError('COMPONENT_FAILED', `the Hub sent no body for ${redactUrl(url)}`, { retryable: true })
  const body = res.body as unknown as AsyncIterable<Uint8Array>
  if (p.start > 0 && res.status === 200) return brokenOffAs(skipBytes(body, p.start), url)
  if (p.start > 0) {
    const range = /^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '')
    if (!range || Number(range[1]) !== p.start) {
      await res.body.cancel()
      throw new ModelcarError(
        'COMPONENT_FAILED',
        `the Hub answered a range from byte ${p.start} with \`${res.headers.get('content-range')}\``,
        { retryable: true },
      )
    }
  }
  return brokenOffAs(body, url)
}

/** The body, a cut connection turned into a retryable error that says where the download broke off. */
async function* brokenOffAs(body: AsyncIterable<Uint8Array>, url: URL): AsyncGenerator<Uint8Array> {
  try {
    yield* body
  } catch (err) {
    if (isModelcarError(err) || !isTransientNetworkError(err)) throw err
    throw new ModelcarError('COMPONENT_FAILED', `[GET] ${redactUrl(url)}: the download broke off (${(err as Error).message})`, {
      retryable: true,
      cause: err,
    })
  }
}

function checkEtag(res: Response, expected: string[]): void {
  const etag = res.headers.get('x-linked-etag') ?? res.headers.get('etag')
  if (etag && expected.length && !expected.includes(etag.replace(/^W\//, ''))) {
    void res.body?.cancel()
    throw new ModelcarError('SOURCE_DIGEST_MISMATCH', `the Hub serves other content (ETag ${etag}) than it listed`, {
      hint: 'the file changed while it was read; run again',
    })
  }
}

function jsonError(text: string): string | undefined {
  try {
    const j = JSON.parse(text) as { error?: string; message?: string }
    return j.error ?? j.message
  } catch {
    return text.slice(0, 200) || undefined
  }
}
