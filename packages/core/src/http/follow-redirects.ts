// fetch with redirects followed here rather than inside fetch: credentials stay on the origin
// they were meant for (a Hub download or a registry blob redirects to a CDN), 303 turns into a GET
// without a body, and a streamed body is never redirected (fetch would keep a copy of it).

/** Headers that carry credentials: dropped as soon as a hop leaves the first origin. */
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization']
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308])

export interface FollowOptions {
  /** Hops followed at most; the answer of the last is returned as it is. Default 5. */
  maxRedirects?: number
  /** Sees every answer before it is followed (a Hub's 302 carries the ETag of the content). */
  onResponse?: (res: Response, url: URL) => void
}

export interface Followed {
  response: Response
  /** Where the answer came from. */
  url: URL
}

/** Whether fetch could send `body` twice: none, text, bytes, a form; not a stream. */
export function isReplayableBody(body: RequestInit['body'] | undefined): boolean {
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

export async function fetchFollowing(
  fetchFn: typeof globalThis.fetch,
  url: string | URL,
  init: RequestInit = {},
  opts: FollowOptions = {},
): Promise<Followed> {
  const first = new URL(url)
  const headers = new Headers(init.headers)
  const streamed = !isReplayableBody(init.body)
  if (streamed) {
    // Node's fetch tees a streamed body it may have to redirect: the branch nobody reads would keep
    // every chunk in memory. A stream cannot be sent twice anyway.
    const response = await fetchFn(first, { ...init, headers, redirect: 'error', duplex: 'half' } as RequestInit)
    opts.onResponse?.(response, first)
    return { response, url: first }
  }
  let current = first
  let method = (init.method ?? 'GET').toUpperCase()
  let body = init.body
  for (let hop = 0; ; hop++) {
    const response = await fetchFn(current, { ...init, method, body, headers, redirect: 'manual' })
    opts.onResponse?.(response, current)
    const location = response.headers.get('location')
    if (!REDIRECT_STATUSES.has(response.status) || !location || hop >= (opts.maxRedirects ?? 5)) return { response, url: current }
    await response.body?.cancel()
    if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === 'POST')) {
      if (method !== 'HEAD') method = 'GET'
      body = undefined
      headers.delete('content-type')
      headers.delete('content-length')
    }
    const next = new URL(location, current)
    if (next.origin !== first.origin) for (const h of CREDENTIAL_HEADERS) headers.delete(h)
    current = next
  }
}
