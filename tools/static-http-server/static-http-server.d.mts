// Types of static-http-server.mjs.

export interface StaticServerOptions {
  /** URL path (with or without the leading `/`) → content. */
  files: Record<string, Buffer | Uint8Array | string>
  /** Answer 401 unless this header has this value, e.g. ['authorization', 'Bearer x']. */
  requireHeader?: [string, string]
  faults?: Partial<Faults>
}

export interface Faults {
  /** Per URL path: cut the connection after `bytes` of the body, `times` times. */
  cutAfter: Map<string, { bytes: number; times: number }>
  /** Answer 200 with the whole file to a Range request. */
  ignoreRange?: boolean
  /** HEAD answers without Content-Length. */
  noLengthOnHead?: boolean
}

export interface LoggedRequest {
  method: string
  path: string
  range: string | undefined
  headers: Record<string, string | string[] | undefined>
}

export interface StaticServer {
  /** `http://127.0.0.1:PORT` */
  url: string
  requests: LoggedRequest[]
  faults: Faults
  files: Map<string, Buffer>
  stop(): Promise<void>
}

export declare function startStaticServer(opts: StaticServerOptions): Promise<StaticServer>
