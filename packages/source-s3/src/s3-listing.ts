// The objects under a prefix, as the source plans them: every page of ListObjectsV2 (folder
// markers and keys that would escape the model folder dealt with), then each chosen object pinned
// by a HEAD — its version id and checksum, with the ETag and size of that same version.
import { setMaxListeners } from 'node:events'
import type { S3Client, _Object } from '@aws-sdk/client-s3'
import { mapBounded, ModelcarError, safeModelPath, type ComponentContext } from '@modelcar/core'
import { loadClientS3 } from './aws-sdk.js'
import { retried } from './s3-client.js'
import { s3Url, type S3Where } from './s3-errors.js'
import { contentDigest, type PinnedObject } from './s3-object.js'

/** A listed object that may become a file: its key, its path below the prefix, and what the listing said of it. */
export interface ListedObject {
  key: string
  rel: string
  size: number
  etag: string
}

/** HEADs in flight while pinning a listing of many objects. */
const HEAD_CONCURRENCY = 16

/** Every object under `prefix` (a folder: `''` or ending in `/`), page by page, each page retried on its own. */
export async function listObjects(s3: S3Client, where: S3Where, prefix: string, ctx: ComponentContext): Promise<ListedObject[]> {
  const { ListObjectsV2Command } = await loadClientS3()
  const objects: _Object[] = []
  let token: string | undefined
  do {
    const page = await retried(
      () =>
        s3.send(new ListObjectsV2Command({ Bucket: where.bucket, Prefix: prefix || undefined, ContinuationToken: token }), {
          abortSignal: ctx.signal,
        }),
      where,
      'GET',
      ctx,
      ctx.signal,
    )
    objects.push(...(page.Contents ?? []))
    token = page.IsTruncated ? page.NextContinuationToken : undefined
    if (page.IsTruncated && !token)
      throw new ModelcarError(
        'COMPONENT_FAILED',
        `S3 cut the listing of \`${s3Url(where.bucket, prefix)}\` short without a continuation token`,
      )
  } while (token)
  return objects.flatMap((o) => listedObject(o, where.bucket, prefix, ctx))
}

function listedObject(o: _Object, bucket: string, prefix: string, ctx: ComponentContext): ListedObject[] {
  if (!o.Key || !o.Key.startsWith(prefix)) return []
  // "Folder" markers that consoles and tools create: keys ending in `/`, no content.
  if (o.Key.endsWith('/')) {
    if ((o.Size ?? 0) > 0)
      ctx.logger.warn(`skipped \`${s3Url(bucket, o.Key)}\`: a key ending in \`/\` cannot be a file (it holds ${o.Size} bytes)`)
    return []
  }
  let rel: string
  try {
    rel = safeModelPath(o.Key.slice(prefix.length), 'object key')
  } catch (err) {
    const e = err as ModelcarError
    throw new ModelcarError(e.code, `key \`${o.Key}\` of bucket \`${bucket}\` would escape the model folder: ${e.message}`, {
      hint: 'such a key cannot be stored under the image prefix; rename the object, or leave it out with `exclude`',
      input: true,
    })
  }
  return [{ key: o.Key, rel, size: o.Size ?? 0, etag: o.ETag ?? '' }]
}

/**
 * HEAD pins what the listing cannot say: version id and checksum, with the ETag and size of that
 * same version (the listing may be older than the HEAD).
 */
export async function pinObjects(s3: S3Client, chosen: ListedObject[], where: S3Where, ctx: ComponentContext): Promise<PinnedObject[]> {
  const { HeadObjectCommand } = await loadClientS3()
  // The SDK hangs one abort listener per request on the signal it is given: the HEADs share a
  // signal of their own, linked to the run's by one listener, so no listener limit is crossed.
  const heads = new AbortController()
  setMaxListeners(HEAD_CONCURRENCY * 2 + 2, heads.signal)
  const cancel = () => heads.abort(ctx.signal.reason)
  ctx.signal.addEventListener('abort', cancel, { once: true })
  try {
    return await mapBounded(chosen, HEAD_CONCURRENCY, async (c): Promise<PinnedObject> => {
      const head = await retried(
        () => s3.send(new HeadObjectCommand({ Bucket: where.bucket, Key: c.key, ChecksumMode: 'ENABLED' }), { abortSignal: heads.signal }),
        { ...where, key: c.key },
        'HEAD',
        ctx,
        heads.signal,
      )
      return {
        key: c.key,
        size: head.ContentLength ?? c.size,
        etag: head.ETag ?? c.etag,
        versionId: head.VersionId && head.VersionId !== 'null' ? head.VersionId : undefined,
        digest: contentDigest(head),
      }
    })
  } finally {
    ctx.signal.removeEventListener('abort', cancel)
  }
}
