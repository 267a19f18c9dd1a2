// One S3 object as the engine reads it: pinned at listing time (ETag, version id, checksum) and
// opened at any byte offset with a ranged GetObject that must still match that ETag. One request
// per open(): a throttled answer (with S3's Retry-After, if any) or a cut body surfaces as a
// retryable error, and the engine waits and resumes with another open({ start }).
import type { S3Client } from '@aws-sdk/client-s3'
import { loadClientS3 } from './aws-sdk.js'
import { ModelcarError, skipBytes } from '@modelcar/core'
import { s3Error, s3Url, type S3Where } from './s3-errors.js'

export interface PinnedObject {
  key: string
  size: number
  etag: string
  versionId: string | undefined
  /** `sha256:<hex>` when the object carries a full-object SHA-256 (checksum or metadata). */
  digest: string | undefined
}

/**
 * The content sha256 an object's HEAD proves, if any. `ChecksumSHA256` is the base64 sha256 of
 * the whole content only for a FULL_OBJECT checksum (a single PUT, or a full-object multipart
 * upload); a COMPOSITE one (`…-N`) hashes the parts' checksums, not the content, and is ignored.
 * Without one, user metadata `sha256` (hex, as some upload tools write it) is taken.
 */
export function contentDigest(head: {
  ChecksumSHA256?: string
  ChecksumType?: string
  Metadata?: Record<string, string>
}): string | undefined {
  const c = head.ChecksumSHA256
  const full = head.ChecksumType ? head.ChecksumType === 'FULL_OBJECT' : c !== undefined && !c.includes('-')
  if (c && full) {
    const bytes = Buffer.from(c, 'base64')
    if (bytes.length === 32 && bytes.toString('base64') === c) return `sha256:${bytes.toString('hex')}`
  }
  const meta = head.Metadata?.sha256?.trim().toLowerCase()
  if (meta && /^[0-9a-f]{64}$/.test(meta)) return `sha256:${meta}`
  return undefined
}

export interface OpenObjectParams {
  client: S3Client
  bucket: string
  object: PinnedObject
  start: number
  signal: AbortSignal | undefined
  where: S3Where
}

export async function openObject(p: OpenObjectParams): Promise<AsyncIterable<Uint8Array>> {
  const { object, start } = p
  // A read cut exactly at the end resumes at `size`: nothing is left, and S3 would answer 416 to
  // `bytes=SIZE-` (an empty object is read from 0 without a Range and works).
  if (start >= object.size && object.size > 0) return (async function* () {})()
  const where = { ...p.where, key: object.key }
  // The SDK leaves its abort listener on the signal it is given when a body is cut; a signal of
  // this read's own, linked to the run's by one listener removed when the read ends, keeps
  // retries from piling listeners onto the run's signal.
  const own = new AbortController()
  const cancel = () => own.abort(p.signal?.reason)
  if (p.signal?.aborted) cancel()
  else p.signal?.addEventListener('abort', cancel, { once: true })
  const release = () => p.signal?.removeEventListener('abort', cancel)
  let res
  try {
    res = await p.client.send(
      new (await loadClientS3()).GetObjectCommand({
        Bucket: p.bucket,
        Key: object.key,
        VersionId: object.versionId,
        // The ETag pinned at listing: a replaced object answers 412 instead of other bytes.
        IfMatch: object.etag,
        // Always an explicit range from `start`: never the suffix form, which s3rver misreads.
        Range: start > 0 ? `bytes=${start}-` : undefined,
      }),
      { abortSignal: own.signal },
    )
  } catch (err) {
    release()
    throw s3Error(err, where)
  }
  const body = res.Body as (AsyncIterable<Uint8Array> & { destroy?: () => void }) | undefined
  if (!body) {
    release()
    throw new ModelcarError('COMPONENT_FAILED', `S3 sent no body for \`${s3Url(p.bucket, object.key)}\``, { retryable: true })
  }
  // Some stores answer 200 with the whole object to a Range they do not honour; some ignore If-Match.
  if (res.ETag && res.ETag !== object.etag) {
    body.destroy?.()
    release()
    throw s3Error({ name: 'PreconditionFailed', $metadata: res.$metadata }, where)
  }
  if (start > 0) {
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.ContentRange ?? '')
    if (!m) return skipBytes(guarded(body, where, release), start)
    if (Number(m[1]) !== start || (m[3] !== '*' && Number(m[3]) !== object.size)) {
      body.destroy?.()
      release()
      throw new ModelcarError(
        'COMPONENT_FAILED',
        `S3 answered a range from byte ${start} of \`${s3Url(p.bucket, object.key)}\` with \`${res.ContentRange}\``,
        { retryable: true },
      )
    }
  }
  return guarded(body, where, release)
}

/** The body, with a broken connection turned into a retryable error that names the object. */
async function* guarded(body: AsyncIterable<Uint8Array>, where: S3Where, release: () => void): AsyncGenerator<Uint8Array> {
  try {
    yield* body
  } catch (err) {
    const mapped = s3Error(err, where)
    // A socket cut mid-body is not an S3 refusal: whatever the SDK called it, resume from here.
    throw mapped.retryable || mapped.code !== 'COMPONENT_FAILED' || mapped.input
      ? mapped
      : new ModelcarError(mapped.code, mapped.message, { retryable: true, cause: err })
  } finally {
    release()
  }
}
