// How blobs are uploaded to a registry. Most take one streamed PATCH (no Content-Range) and a
// closing `PUT ?digest=`, which needs no digest up front and no buffer; some need ranged chunks of
// a bounded size, some a single PUT with the digest known before the bytes. A recipe can override.

export type UploadMode = 'streamed' | 'chunked' | 'monolithic'

export interface UploadStrategy {
  mode: UploadMode
  /** For `chunked`: bytes per PATCH (every chunk but the last). */
  chunkBytes: number
  /** Why this strategy, for debug logs. */
  reason: string
}

const MiB = 1 << 20

/** Known registries (protocols.md §3.6). Matched on the API host, first hit wins. */
const KNOWN: { match: RegExp; strategy: Omit<UploadStrategy, 'reason'>; why: string }[] = [
  // GHCR answers 416 to a ranged PATCH over 4 MiB.
  { match: /^ghcr\.io$/, strategy: { mode: 'chunked', chunkBytes: 4 * MiB }, why: 'ghcr.io: ranged chunks of at most 4 MiB' },
  // ECR rejects parts under 5 MB (LayerPartTooSmallException) but the last.
  {
    match: /\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/,
    strategy: { mode: 'chunked', chunkBytes: 8 * MiB },
    why: 'ECR: chunks of at least 5 MB',
  },
  {
    match: /(^|\.)(pkg\.dev|gcr\.io)$/,
    strategy: { mode: 'monolithic', chunkBytes: 0 },
    why: 'Google Artifact Registry: one PUT per blob',
  },
  // Quay treats a PATCH without Content-Range as the whole upload; its ranged chunks were unreliable.
  { match: /^quay\.io$/, strategy: { mode: 'streamed', chunkBytes: 0 }, why: 'quay.io: one streamed PATCH' },
]

export function uploadStrategyFor(apiHost: string, override?: { mode?: UploadMode; chunkBytes?: number }): UploadStrategy {
  const host = apiHost.replace(/:\d+$/, '').toLowerCase()
  const known = KNOWN.find((k) => k.match.test(host))
  const base: UploadStrategy = known
    ? { ...known.strategy, reason: known.why }
    : { mode: 'streamed', chunkBytes: 0, reason: 'default: one streamed PATCH' }
  if (!override?.mode && !override?.chunkBytes) return base
  const mode = override.mode ?? base.mode
  const chunkBytes = override.chunkBytes ?? (base.chunkBytes || 4 * MiB)
  return { mode, chunkBytes: mode === 'chunked' ? chunkBytes : 0, reason: 'set in the recipe' }
}
