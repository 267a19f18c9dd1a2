// Types for fault-proxy.mjs, which stays plain JavaScript so plain .mjs scripts can import it.
import type { IncomingHttpHeaders } from 'node:http'

/** A canned response the proxy sends instead of asking the target. */
export interface CannedResponse {
  status: number
  headers?: Record<string, string>
  /** Seconds, sent as Retry-After. */
  retryAfter?: number
  /** The body (e.g. s3ErrorXml(…)); a function gets the request's URL and headers. */
  body?: string | ((url: URL, headers: IncomingHttpHeaders) => string)
}

/**
 * A fault for the requests it matches. All given conditions must hold. The first matching rule
 * with uses left applies; requests no rule takes are forwarded untouched.
 */
export interface FaultRule {
  method?: string
  /** A string equals the URL path exactly; a RegExp is tested on path + query string. */
  path?: string | RegExp
  /** Header conditions: a value, a RegExp, true (present) or false (absent). */
  header?: Record<string, string | RegExp | boolean>
  /** Uses in total (default unlimited). */
  times?: number
  /** Uses per distinct URL path (e.g. 1: every object is hit once). */
  timesPerPath?: number
  /**
   * Forward, then cut the response body after this many bytes and break the connection. Only a
   * body longer than the cut point is cut, and only such a response uses the rule up.
   */
  cut?: { afterBytes: number } | { afterFraction: number }
  /** Answer this instead of forwarding. */
  respond?: CannedResponse
}

export interface ProxyRequestLog {
  method: string
  /** Path and query as received. */
  path: string
  range: string | undefined
  ifMatch: string | undefined
  /** Whether an Authorization header was present (its value is never kept). */
  authorization: boolean
  /** Status sent (0 until known). */
  status: number
  /** Body bytes passed on to the client. */
  bytes: number
  /** Whether a `cut` rule broke this response. */
  cut: boolean
  /** Index of the rule that applied, if any. */
  rule: number | undefined
}

export interface FaultProxyOptions {
  /** Origin to forward to, e.g. http://127.0.0.1:4569 (http only). */
  target: string
  rules?: FaultRule[]
  /** Default 127.0.0.1. */
  host?: string
  /** Default 0 (any free port). */
  port?: number
}

export interface FaultProxy {
  /** The proxy's origin: give it to the client instead of the target's. */
  url: string
  /** Every request, in arrival order (mutable: tests may clear it). */
  requests: ProxyRequestLog[]
  /** Replaces the rules and resets their counters. */
  setRules(rules: FaultRule[]): void
  stop(): Promise<void>
}

export declare function startFaultProxy(opts: FaultProxyOptions): Promise<FaultProxy>

/** An S3 error body: `<Error><Code>…</Code><Message>…</Message>…extra…<RequestId>…</RequestId></Error>`. */
export declare function s3ErrorXml(code: string, message: string, extra?: Record<string, string>): string
