// Source `s3`: the objects under a prefix of a bucket in any S3-compatible store (AWS, MinIO,
// Ceph, R2, …), streamed into layers with no local copy. Every object is pinned at listing time
// by its ETag (and version id), so an object replaced mid-run fails the run instead of mixing
// two versions into one image; a full-object SHA-256 the object carries is verified.
import { setMaxListeners } from 'node:events'
import type { S3Client, _Object } from '@aws-sdk/client-s3'
import { Type } from '@sinclair/typebox'
import {
  defineSource,
  errors,
  globFilter,
  joinModelPath,
  mapBounded,
  ModelcarError,
  safeModelPath,
  unmatchedPatterns,
  type ModelFile,
} from '@modelcar/core'
import { s3Error, s3Url, type S3Where } from './s3-errors.js'
import { contentDigest, openObject, type PinnedObject } from './s3-object.js'
import { clientSettings, credentialChain } from './s3-settings.js'
import { loadClientS3 } from './aws-sdk.js'

export const s3SourceSchema = Type.Object(
  {
    bucket: Type.String({
      description: 'The bucket.',
      pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$',
      examples: ['ml-models'],
    }),
    prefix: Type.Optional(
      Type.String({
        description:
          'The model root: keys below it become paths under the image prefix (`models/llama/config.json` → `/models/config.json` for prefix `models/llama`). A folder: a trailing `/` is implied. Empty: the whole bucket.',
        default: '',
        examples: ['models/granite-3.1-2b'],
      }),
    ),
    include: Type.Optional(
      Type.Array(Type.String(), {
        description:
          'Globs of files (paths below `prefix`) to take, all when absent; a pattern without `/` matches file names in any folder.',
        examples: [['*.safetensors', '*.json']],
      }),
    ),
    exclude: Type.Optional(Type.Array(Type.String(), { description: 'Globs of files to leave out.', examples: [['checkpoints/**']] })),
    into: Type.Optional(Type.String({ description: 'Sub-folder under the image prefix to put the files in.', examples: ['granite'] })),
    endpoint: Type.Optional(
      Type.String({
        description:
          'The S3 API endpoint, for MinIO, Ceph, R2 and the like. Default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the profile’s `endpoint_url`, else AWS S3 of `region`.',
        pattern: '^https?://',
        examples: ['http://minio.internal:9000', 'https://<account>.r2.cloudflarestorage.com'],
      }),
    ),
    region: Type.Optional(
      Type.String({
        description: 'The bucket’s region. Default: AWS_REGION, AWS_DEFAULT_REGION, the profile’s `region`, else `us-east-1`.',
        pattern: '^[a-z0-9-]+$',
        examples: ['eu-west-1'],
      }),
    ),
    forcePathStyle: Type.Optional(
      Type.Boolean({
        description:
          'Address the bucket in the path (`https://host/bucket/key`) rather than as a subdomain; most self-hosted stores need it. Default: the profile’s `s3.addressing_style`, else true when `endpoint` is set, else false.',
        examples: [true],
      }),
    ),
    profile: Type.Optional(
      Type.String({
        description:
          'The profile of ~/.aws/config and ~/.aws/credentials to take credentials (and region, endpoint) from. Default: AWS_PROFILE, else `default`. Credentials come only from the AWS default chain (environment, profiles, web identity, container and instance roles), never from the recipe.',
        examples: ['ml-readonly'],
      }),
    ),
  },
  { additionalProperties: false },
)

/** HEADs in flight while pinning a listing of many objects. */
const HEAD_CONCURRENCY = 16
/** Attempts the SDK makes itself for a request that failed before any body byte (throttling, 5xx, resets). */
const SDK_MAX_ATTEMPTS = 4

export const s3Source = defineSource({
  type: 's3',
  description: 'Objects under a prefix of an S3-compatible bucket, streamed; pinned by ETag, SHA-256 checked where the object has one.',
  schema: s3SourceSchema,
  create(config, ctx) {
    const settings = clientSettings(config, ctx.env)
    const prefix = !config.prefix || config.prefix.endsWith('/') ? (config.prefix ?? '') : `${config.prefix}/`
    const where: S3Where = {
      bucket: config.bucket,
      key: prefix,
      endpoint: settings.endpoint ? shownEndpoint(settings.endpoint) : '',
      region: settings.region,
      regionFrom: settings.regionFrom,
      credentialsFrom: settings.credentialsFrom,
    }
    let client: Promise<S3Client> | undefined
    const clientOf = (): Promise<S3Client> =>
      (client ??= loadClientS3().then(
        ({ S3Client }) =>
          new S3Client({
            region: settings.region,
            endpoint: settings.endpoint,
            forcePathStyle: config.forcePathStyle ?? settings.pathStyle ?? settings.endpoint !== undefined,
            credentials: credentialChain(settings, ctx.env, (c) => {
              ctx.secret(c.secretAccessKey)
              if (c.sessionToken) ctx.secret(c.sessionToken)
            }),
            maxAttempts: SDK_MAX_ATTEMPTS,
            // We verify content ourselves (full-object SHA-256); the SDK's own response validation
            // does not apply to ranged reads and would add x-amz-checksum-mode to every GET.
            requestChecksumCalculation: 'WHEN_REQUIRED',
            responseChecksumValidation: 'WHEN_REQUIRED',
            // The SDK logs nothing by default; keep it that way (its messages could carry request details).
            logger: undefined,
          }),
      ))
    let listed: ModelFile[] = []

    return {
      async *list() {
        const s3 = await clientOf()
        const { HeadObjectCommand, ListObjectsV2Command } = await loadClientS3()
        const objects: _Object[] = []
        let token: string | undefined
        try {
          do {
            const page = await s3.send(
              new ListObjectsV2Command({ Bucket: config.bucket, Prefix: prefix || undefined, ContinuationToken: token }),
              { abortSignal: ctx.signal },
            )
            objects.push(...(page.Contents ?? []))
            token = page.IsTruncated ? page.NextContinuationToken : undefined
            if (page.IsTruncated && !token)
              throw new ModelcarError(
                'COMPONENT_FAILED',
                `S3 cut the listing of \`${s3Url(config.bucket, prefix)}\` short without a continuation token`,
              )
          } while (token)
        } catch (err) {
          throw s3Error(err, where)
        }
        const candidates: { key: string; rel: string; size: number; etag: string }[] = []
        for (const o of objects) {
          if (!o.Key || !o.Key.startsWith(prefix)) continue
          // "Folder" markers that consoles and tools create: keys ending in `/`, no content.
          if (o.Key.endsWith('/')) {
            if ((o.Size ?? 0) > 0)
              ctx.logger.warn(
                `skipped \`${s3Url(config.bucket, o.Key)}\`: a key ending in \`/\` cannot be a file (it holds ${o.Size} bytes)`,
              )
            continue
          }
          let rel: string
          try {
            rel = safeModelPath(o.Key.slice(prefix.length), 'object key')
          } catch (err) {
            const e = err as ModelcarError
            throw new ModelcarError(e.code, `key \`${o.Key}\` of bucket \`${config.bucket}\` would escape the model folder: ${e.message}`, {
              hint: 'such a key cannot be stored under the image prefix; rename the object, or leave it out with `exclude`',
              input: true,
            })
          }
          candidates.push({ key: o.Key, rel, size: o.Size ?? 0, etag: o.ETag ?? '' })
        }
        candidates.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0))
        const filter = globFilter(config.include, config.exclude)
        const chosen = candidates.filter((c) => filter(c.rel))
        const unmatched = unmatchedPatterns(
          config.include,
          candidates.map((c) => c.rel),
        )
        if (candidates.length === 0) {
          throw new ModelcarError('SOURCE_NOTHING_MATCHED', `no object under \`${s3Url(config.bucket, prefix)}\``, {
            hint: 'check `prefix` (keys are case-sensitive, and the prefix is a folder of the bucket) and `bucket`',
            input: true,
          })
        }
        if (unmatched.length || chosen.length === 0) {
          throw errors.sourceNothingMatched(
            `\`${s3Url(config.bucket, prefix)}\``,
            unmatched.length ? unmatched : (config.include ?? ['**']),
          )
        }
        // HEAD pins what the listing cannot say: version id and checksum, with the ETag and size
        // of that same version (the listing may be older than the HEAD). The SDK hangs one abort
        // listener per request on the signal it is given: the HEADs share a signal of their own,
        // linked to the run's by one listener, so no listener limit is crossed.
        const heads = new AbortController()
        setMaxListeners(HEAD_CONCURRENCY + 2, heads.signal)
        const cancel = () => heads.abort(ctx.signal.reason)
        ctx.signal.addEventListener('abort', cancel, { once: true })
        const pinned = await mapBounded(chosen, HEAD_CONCURRENCY, async (c): Promise<PinnedObject> => {
          try {
            const head = await s3.send(new HeadObjectCommand({ Bucket: config.bucket, Key: c.key, ChecksumMode: 'ENABLED' }), {
              abortSignal: heads.signal,
            })
            return {
              key: c.key,
              size: head.ContentLength ?? c.size,
              etag: head.ETag ?? c.etag,
              versionId: head.VersionId && head.VersionId !== 'null' ? head.VersionId : undefined,
              digest: contentDigest(head),
            }
          } catch (err) {
            throw s3Error(err, { ...where, key: c.key })
          }
        }).finally(() => ctx.signal.removeEventListener('abort', cancel))
        listed = pinned.map((o, i) => fileOf(o, chosen[i]!.rel))
        yield* listed
      },
      annotations() {
        return {
          'org.opencontainers.image.source': s3Url(config.bucket, prefix),
          'modelcar.s3.bucket': config.bucket,
          'modelcar.s3.prefix': prefix,
        }
      },
      modelcard() {
        return listed.find((f) => f.path === joinModelPath(config.into, 'README.md'))?.path
      },
    }

    function fileOf(o: PinnedObject, rel: string): ModelFile {
      return {
        path: joinModelPath(config.into, rel),
        size: o.size,
        digest: o.digest,
        origin: `${s3Url(config.bucket, o.key)}${o.versionId ? `?versionId=${encodeURIComponent(o.versionId)}` : ''}`,
        open: async (opts = {}) =>
          openObject({
            client: await clientOf(),
            bucket: config.bucket,
            object: o,
            start: opts.start ?? 0,
            signal: opts.signal ?? ctx.signal,
            where,
          }),
      }
    }
  },
})

/** The endpoint as messages show it: without user info, should a URL carry any. */
function shownEndpoint(endpoint: string): string {
  try {
    const u = new URL(endpoint)
    u.username = ''
    u.password = ''
    return u.href.replace(/\/+$/, '')
  } catch {
    return endpoint
  }
}
