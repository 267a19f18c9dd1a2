// Source `s3`: the objects under a prefix of a bucket in any S3-compatible store (AWS, MinIO,
// Ceph, R2, …), streamed into layers with no local copy. Every object is pinned at listing time
// by its ETag (and version id), so an object replaced mid-run fails the run instead of mixing
// two versions into one image; a full-object SHA-256 the object carries is verified.
import { Type } from '@sinclair/typebox'
import {
  defineSource,
  joinModelPath,
  ModelcarError,
  redactUrl,
  selectFiles,
  withDefault,
  type ComponentContext,
  type ModelFile,
} from '@modelcar/core'
import type { S3Client } from '@aws-sdk/client-s3'
import { lazyClient } from './s3-client.js'
import { s3Url, type S3Where } from './s3-errors.js'
import { listObjects, pinObjects } from './s3-listing.js'
import { openObject, type PinnedObject } from './s3-object.js'
import { clientSettings } from './s3-settings.js'

export const s3SourceSchema = Type.Object(
  {
    bucket: Type.String({
      description: 'The bucket.',
      pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$',
      examples: ['ml-models'],
    }),
    prefix: withDefault(
      Type.String({
        description:
          'The model root: keys below it become paths under the image prefix (`models/llama/config.json` → `/models/config.json` for prefix `models/llama`). A folder: a trailing `/` is implied. Empty: the whole bucket.',
        examples: ['models/granite-3.1-2b'],
      }),
      '',
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

export const s3Source = defineSource({
  type: 's3',
  description: 'Objects under a prefix of an S3-compatible bucket, streamed; pinned by ETag, SHA-256 checked where the object has one.',
  schema: s3SourceSchema,
  create(config, ctx) {
    const settings = clientSettings(config, ctx.env)
    const prefix = !config.prefix || config.prefix.endsWith('/') ? config.prefix : `${config.prefix}/`
    const pathStyle = config.forcePathStyle ?? settings.pathStyle ?? settings.endpoint !== undefined
    const where: S3Where = {
      bucket: config.bucket,
      key: prefix,
      endpoint: settings.endpoint ? shownEndpoint(settings.endpoint) : '',
      region: settings.region,
      regionFrom: settings.regionFrom,
      credentialsFrom: settings.credentialsFrom,
      pathStyle,
    }
    const clientOf = lazyClient(settings, pathStyle, ctx)
    let listed: ModelFile[] = []

    return {
      async *list() {
        const s3 = await clientOf()
        const objects = await listObjects(s3, where, prefix, ctx)
        if (objects.length === 0) {
          throw new ModelcarError('SOURCE_NOTHING_MATCHED', `no object under \`${s3Url(config.bucket, prefix)}\``, {
            hint: 'check `prefix` (keys are case-sensitive, and the prefix is a folder of the bucket) and `bucket`',
            input: true,
          })
        }
        const chosen = selectFiles(objects, {
          include: config.include,
          exclude: config.exclude,
          path: (o) => o.rel,
          where: `\`${s3Url(config.bucket, prefix)}\``,
        })
        const pinned = await pinObjects(s3, chosen, where, ctx)
        listed = pinned.map((o, i) => s3File(o, joinModelPath(config.into, chosen[i]!.rel), { clientOf, where, ctx }))
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
  },
})

interface FileContext {
  clientOf: () => Promise<S3Client>
  where: S3Where
  ctx: ComponentContext
}

function s3File(o: PinnedObject, path: string, { clientOf, where, ctx }: FileContext): ModelFile {
  return {
    path,
    size: o.size,
    digest: o.digest,
    // Without a checksum, the object's version (or its ETag, in a bucket without versions) names
    // its content: the same identity is the same bytes, so a later run reads it no more.
    ...(o.digest ? {} : { identity: `s3:${where.bucket}/${o.key}@${o.versionId ? `version:${o.versionId}` : `etag:${o.etag}`}` }),
    origin: `${s3Url(where.bucket, o.key)}${o.versionId ? `?versionId=${encodeURIComponent(o.versionId)}` : ''}`,
    open: async (opts = {}) =>
      openObject({
        client: await clientOf(),
        bucket: where.bucket,
        object: o,
        start: opts.start ?? 0,
        signal: opts.signal ?? ctx.signal,
        where,
      }),
  }
}

/** The endpoint as messages show it: origin and path (core's redaction: no user info, no query). */
function shownEndpoint(endpoint: string): string {
  return redactUrl(endpoint).replace(/\/+$/, '')
}
