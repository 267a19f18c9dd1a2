// Types for registry-proxy.mjs (plain JavaScript, so .mjs scripts can import it too).

export interface StatusFault {
  /** Only requests with this method (default any). */
  method?: string
  /** Only paths (with query) matching this regular expression (default any). */
  path?: string
  /** 429/503 for busy registries; 400/403/… to imitate a refusal (with `code` and `message`). */
  status: number
  /** Distribution error code in the JSON body (default TOOMANYREQUESTS, DENIED or UNAVAILABLE by status). */
  code?: string
  message?: string
  /** Retry-After seconds sent with it. */
  retryAfter?: number
  /** How many matching requests get it (default 1). */
  times?: number
}

export interface Quirks {
  /** A PATCH with a Content-Range longer than this gets 416 REQUESTED_RANGE_NOT_SATISFIABLE (GHCR: 4 MiB). Streamed PATCHes (no Content-Range) pass. */
  maxChunkBytes?: number
  /** Every PATCH gets 405 UNSUPPORTED: only monolithic PUTs work. */
  refusePatch?: boolean
  /** Answered instead of forwarding, first match wins, each `times` times. */
  status?: StatusFault[]
  /** Each number is used once, in order: the next PATCH/PUT of an upload is cut after that many body bytes. */
  cutAfterBytes?: number[]
  /**
   * Each number is used once, in order: the next PATCH/PUT of an upload whose Content-Length is
   * larger is cut after that many body bytes, none of which reached the registry (a front that
   * buffers request bodies, as nginx does).
   */
  cutBeforeRegistry?: number[]
  /** The next this many PATCHes that the registry took (202) lose their answer: the connection is cut before it. */
  cutAnswers?: number
}

export interface ProxyRequest {
  method: string
  /** Path and query as received. */
  path: string
  /** Status answered (0 when the connection was cut before). */
  status: number
  /** Request body bytes received. */
  bytes: number
  contentRange: string | undefined
  cut: boolean
  /** Which quirk answered, if any. */
  quirk: string | undefined
}

export interface RegistryProxyOptions {
  /** The real registry: http://127.0.0.1:PORT */
  upstream: string
  host?: string
  port?: number
  quirks?: Quirks
}

export interface RegistryProxy {
  /** 127.0.0.1:PORT, the registry part of an image reference. */
  host: string
  url: string
  /** Every request, in arrival order (mutable: tests may clear it). */
  requests: ProxyRequest[]
  /** Replaces the quirks (and resets their counters). */
  setQuirks(quirks: Quirks): void
  stop(): Promise<void>
}

export declare function startRegistryProxy(opts: RegistryProxyOptions): Promise<RegistryProxy>
