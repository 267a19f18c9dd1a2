// Types for hub-emulator.mjs, which stays plain JavaScript so plain .mjs scripts (the benchmark)
// can import it.

/** Content of one file for writeRepo/addCommit: bytes, UTF-8 text, or a sparse file of zeros. */
export type RepoFileContent = Buffer | Uint8Array | string | { sparseSize: number }

export type GatedMode = false | 'auto' | 'manual'

/** What a token may do: read the listed private/gated repos (and every repo of its own namespace). */
export interface TokenInfo {
  user: string
  /** Repo ids: "ns/name" for models, "datasets/ns/name" for datasets. */
  access: string[]
}

/**
 * Faults for resume tests. A file is named by its path in the repo ("model.safetensors"), or by
 * "<repo id>/<path>" ("org/m/model.safetensors", "datasets/org/d/x.bin"); either may be prefixed
 * by "hub:" or "cdn:" to hit only the Hub's resolve/raw route or only the CDN.
 */
export interface Faults {
  /**
   * Each number is used once, in order: the next GET of that file whose body is longer than the
   * number sends the headers and exactly that many body bytes, then the socket is destroyed.
   * (A body not longer than the number, such as the `Range: bytes=0-0` probe, is served whole and
   * does not use it up.)
   */
  cutAt?: Record<string, number[]>
  /** Statuses answered first, in order, one per request for that file (Retry-After if given). */
  status?: Record<string, Array<{ status: 429 | 503; retryAfter?: number }>>
  /** Every file body longer than floor(size * fraction) bytes is cut there, `times` times per file. */
  cutEveryFile?: { fraction: number; times: number }
  /** Statuses answered first, in order, one per request to the JSON API (`/api/…`), before anything else. */
  api?: Array<{ status: 429 | 500 | 503; retryAfter?: number }>
}

export interface HubEmulatorOptions {
  /** Folder of repos: <root>/<models|datasets>/<ns>/<name>/{repo.json, commits/<sha>/…}. */
  root: string
  /** Default 127.0.0.1. */
  host?: string
  /** Default 0 (any free port). */
  port?: number
  /** Default 0 (any free port). */
  cdnPort?: number
  /** Files at least this big are LFS. Default 10 MiB. */
  lfsThreshold?: number
  /** Basename globs of LFS files (like .gitattributes). Default *.safetensors *.bin *.gguf *.pt. */
  lfsPatterns?: string[]
  /** Tree entries per page. Default 1000. */
  pageSize?: number
  /** Tree entries per page with expand=true. Default min(50, pageSize), as on the Hub. */
  expandPageSize?: number
  /** Valid tokens (each must start with hf_). */
  tokens?: Record<string, TokenInfo>
  /**
   * X-Cache header of CDN responses. Default "Miss from cloudfront", as the real CDN sends: with it,
   * @huggingface/hub uses the CDN URL directly for the body (and sends its token there). false: none.
   */
  cdnXCache?: string | false
  /** Lifetime of the signed CDN URLs. Default 3600 s; expired → 403 AccessDenied. */
  cdnUrlTtlSeconds?: number
  /** CDN answers 400 when an Authorization header reaches it (as S3 presigned URLs do). Default false. */
  cdnRejectAuthorization?: boolean
  /** Faults from the start (see setFaults). */
  faults?: Faults
}

export interface RequestLog {
  method: string
  host: 'hub' | 'cdn'
  /** Path and query as received. */
  path: string
  /** The Range header, if any. */
  range: string | undefined
  /** Whether an Authorization header was present (the token itself is never logged). */
  authorization: boolean
  /** Status sent (0 until the headers go out). */
  status: number
  /** File body bytes sent (file routes only). */
  bytes: number
  /** Whether a fault cut this response. */
  cut: boolean
}

export interface HubEmulator {
  /** Hub origin, e.g. http://127.0.0.1:PORT: pass it as `hubUrl`. */
  url: string
  /** CDN origin (another port, so another origin). */
  cdnUrl: string
  /** Every request to either server, in arrival order (mutable: tests may clear it). */
  requests: RequestLog[]
  /** Replaces the faults (and resets their counters). */
  setFaults(faults: Faults): void
  /** Closes both servers and their connections; flushes the hash cache. */
  stop(): Promise<void>
}

export declare function startHubEmulator(opts: HubEmulatorOptions): Promise<HubEmulator>

export interface WriteRepoOptions {
  /** Path in the repo → content. Nested paths ("sub/dir/file") make folders. */
  files: Record<string, RepoFileContent>
  /** Refs pointed at the new commit. Default ["main"]. Other refs already there are kept. */
  refs?: string[]
  private?: boolean
  gated?: GatedMode
  /** Default "model"; a repoId starting with "datasets/" is a dataset too. */
  type?: 'model' | 'dataset'
  /** Commit date (ISO). Default a fixed date, so the sha depends on the content only. */
  date?: string
  title?: string
  pipeline_tag?: string
  library_name?: string
  tags?: string[]
  /** Only for the commit id (which files count as LFS in the git tree). Defaults as the emulator's. */
  lfsThreshold?: number
  lfsPatterns?: string[]
}

/**
 * Creates (or re-creates) a repo with a root commit of `files`; returns the commit sha (a real git
 * commit id of that tree with a fixed author and date, so the same content gives the same sha).
 * Hashes (sha256 of LFS files) are computed here once and kept in the repo's sidecar cache.
 */
export declare function writeRepo(root: string, repoId: string, opts: WriteRepoOptions): Promise<string>

export interface AddCommitOptions {
  /** Ref to build on and move. Default "main". */
  ref?: string
  /** Parent commit. Default the ref's current commit. */
  parent?: string
  type?: 'model' | 'dataset'
  /** Default the parent's date + 1 h. */
  date?: string
  title?: string
  lfsThreshold?: number
  lfsPatterns?: string[]
}

/**
 * Adds a commit on top of `ref`: the parent's files (hard-linked) with `files` applied (null
 * deletes), moves the ref to it (live for a running emulator) and returns the new sha.
 */
export declare function addCommit(
  root: string,
  repoId: string,
  files: Record<string, RepoFileContent | null>,
  opts?: AddCommitOptions,
): Promise<string>

/** The git-lfs pointer text of a file. */
export declare function lfsPointer(sha256: string, size: number): string

/** Git blob id: sha1("blob <size>\0" + bytes). */
export declare function gitBlobOid(bytes: Buffer | string): string
