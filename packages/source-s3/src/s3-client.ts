// The S3 client of one source, and who retries its requests. The AWS SDK never does
// (`maxAttempts: 1`): its retries would multiply with the engine's. A GetObject is one attempt per
// open() (the engine waits and resumes a cut or throttled read); the listing and HEAD requests are
// retried here by core's withRetries, with the same policy and S3's Retry-After when it sends one.
import type { S3Client } from '@aws-sdk/client-s3'
import { withRetries, type ComponentContext } from '@modelcar/core'
import { loadClientS3 } from './aws-sdk.js'
import { s3Error, type S3Where } from './s3-errors.js'
import { credentialChain, type ClientSettings } from './s3-settings.js'

/** The client, made when the source first talks to the bucket (loading the SDK costs memory every run without S3 would pay). */
export function lazyClient(settings: ClientSettings, pathStyle: boolean, ctx: ComponentContext): () => Promise<S3Client> {
  let client: Promise<S3Client> | undefined
  return () =>
    (client ??= loadClientS3().then(
      ({ S3Client }) =>
        new S3Client({
          region: settings.region,
          endpoint: settings.endpoint,
          forcePathStyle: pathStyle,
          credentials: credentialChain(settings, ctx.env, (c) => {
            ctx.secret(c.secretAccessKey)
            if (c.sessionToken) ctx.secret(c.sessionToken)
          }),
          // One retry policy, core's: see the top of this file.
          maxAttempts: 1,
          // We verify content ourselves (full-object SHA-256); the SDK's own response validation
          // does not apply to ranged reads and would add x-amz-checksum-mode to every GET.
          requestChecksumCalculation: 'WHEN_REQUIRED',
          responseChecksumValidation: 'WHEN_REQUIRED',
          // The SDK logs nothing by default; keep it that way (its messages could carry request details).
          logger: undefined,
        }),
    ))
}

/**
 * A listing or HEAD request, retried by the project's policy while S3 is busy or the connection
 * breaks; what fails is an s3Error (the last one marked not retryable, so nobody retries it again).
 */
export function retried<T>(
  send: () => Promise<T>,
  where: S3Where,
  method: 'GET' | 'HEAD',
  ctx: Pick<ComponentContext, 'logger'>,
  signal: AbortSignal,
): Promise<T> {
  return withRetries(
    async () => {
      try {
        return await send()
      } catch (err) {
        throw s3Error(err, where, method)
      }
    },
    {
      signal,
      onRetry: (n, err, delayMs) => ctx.logger.warn(`${(err as Error).message}; asking again in ${delayMs / 1000} s (retry ${n})`),
    },
  )
}
