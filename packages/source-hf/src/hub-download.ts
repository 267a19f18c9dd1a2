// Opens a Hub file at a byte offset: GET resolve/<commit>/<path> with a Range, following the
// redirect to the CDN ourselves so the token never reaches another origin, and honouring
// Retry-After on 429/503. A cut body is resumed by the engine through another open({ start }).
import { ModelcarError, parseRetryAfter, retryDelayMs, sleep, skipBytes } from '@modelcar/core'
import type { HubRefusal } from './hub-errors.js'

export interface OpenParams {
  fetch: typeof globalThis.fetch
  url: string
  token: string | undefined
  start: number
  /** The ETag the bytes must carry (quoted sha256 for LFS files on the CDN, git sha1 otherwise). */
  etags: string[]
  signal: AbortSignal | undefined
  onWait?: (seconds: number, status: number) => void
  refused: (r: HubRefusal) => ModelcarError
}

const MAX_REDIRECTS = 5
const MAX_WAITS = 5
/** A server asking for a longer pause than this gets a retryable error instead. */
const MAX_RETRY_AFTER_S = 120

export async function openHubFile(p: OpenParams): Promise<AsyncIterable<Uint8Array>> {
  let url = p.url
  const hubOrigin = new URL(url).origin
  let token = p.token
  let redirects = 0
  let waits = 0
  for (;;) {
    const headers: Record<string, string> = {}
    if (token) headers.Authorization = `Bearer ${token}`
    if (p.start > 0) headers.Range = `bytes=${p.start}-`
    const res = await p.fetch(url, { headers, redirect: 'manual', signal: p.signal })
    // The Hub's own answer (302 to the CDN, or the bytes) names the content; a CDN's ETag is its own.
    if (new URL(url).origin === hubOrigin && (res.ok || res.status === 302)) checkEtag(res, p.etags)
    if (res.status >= 300 && res.status < 400 && res.headers.get('location')) {
      await res.body?.cancel()
      if (++redirects > MAX_REDIRECTS) throw new ModelcarError('COMPONENT_FAILED', `too many redirects for ${origin(p.url)}`)
      const next = new URL(res.headers.get('location')!, url)
      // Fetch drops Authorization across origins; we follow redirects ourselves, so we must too.
      if (next.origin !== new URL(url).origin) token = undefined
      url = next.href
      continue
    }
    if ((res.status === 429 || res.status === 503) && waits < MAX_WAITS) {
      await res.body?.cancel()
      const seconds = (parseRetryAfter(res.headers.get('retry-after')) ?? retryDelayMs(waits + 1)) / 1000
      if (seconds > MAX_RETRY_AFTER_S) break
      waits++
      p.onWait?.(seconds, res.status)
      await sleep(seconds * 1000, p.signal)
      continue
    }
    if (!res.ok) {
      const text = await res.text().catch(() => '')
      throw p.refused({
        status: res.status,
        url,
        errorCode: res.headers.get('x-error-code') ?? undefined,
        errorMessage: res.headers.get('x-error-message') ?? jsonError(text),
        requestId: res.headers.get('x-request-id') ?? undefined,
      })
    }
    if (!res.body) throw new ModelcarError('COMPONENT_FAILED', 'the Hub sent no body', { retryable: true })
    if (p.start > 0 && res.status === 200) return skipBytes(res.body, p.start)
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
    return res.body as unknown as AsyncIterable<Uint8Array>
  }
  throw new ModelcarError('COMPONENT_FAILED', `the Hub kept answering 429/503 for ${origin(p.url)}`, {
    retryable: true,
    hint: 'the Hub is rate limiting; try again later, or use a token (higher limits)',
  })
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

function origin(url: string): string {
  try {
    return new URL(url).origin
  } catch {
    return url
  }
}
