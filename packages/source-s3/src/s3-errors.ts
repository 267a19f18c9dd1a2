// What S3's refusals mean for the user: a missing bucket, denied access, missing credentials, the
// wrong region or endpoint, an object replaced mid-run. Each message names the bucket (and key),
// the status and request id; credentials never appear, only where they were looked up.
import { ModelcarError } from '@modelcar/core'

export interface S3Where {
  bucket: string
  /** The object, or for a listing the prefix (shown as `s3://bucket/prefix`). */
  key: string
  endpoint: string
  region: string
  regionFrom: string
  credentialsFrom: string
}

interface SdkError {
  name?: string
  message?: string
  code?: string
  Code?: string
  Region?: string
  Endpoint?: string
  cause?: { code?: string }
  $metadata?: { httpStatusCode?: number; requestId?: string; extendedRequestId?: string }
  $response?: { statusCode?: number; headers?: Record<string, string | undefined> }
}

/** Network errors of a connection that broke: worth another try from the byte received. */
const TRANSIENT_NETWORK = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'EAI_AGAIN', 'ERR_STREAM_PREMATURE_CLOSE'])

export const s3Url = (bucket: string, key: string): string => `s3://${bucket}/${key}`

export function s3Error(err: unknown, w: S3Where): ModelcarError {
  if (err instanceof ModelcarError) return err
  const e = (err ?? {}) as SdkError
  const status = e.$metadata?.httpStatusCode ?? e.$response?.statusCode
  const name = e.name ?? ''
  const code = e.code ?? e.cause?.code
  const requestId = e.$metadata?.requestId
  const tag = status ? ` [${status}${requestId ? `, request id ${requestId}` : ''}]` : ''
  const target = `\`${s3Url(w.bucket, w.key)}\``
  const at = w.endpoint ? ` at ${w.endpoint}` : ''
  const input = (message: string, hint: string) => new ModelcarError('COMPONENT_FAILED', message, { hint, input: true, cause: err })

  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(e.message ?? '')) {
    return input(
      `no AWS credentials found to read ${target}`,
      `looked in ${w.credentialsFrom}; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with a profile in ~/.aws/credentials`,
    )
  }
  if (name === 'NoSuchBucket') {
    return input(
      `bucket \`${w.bucket}\` does not exist${at}${tag}`,
      'check `bucket`, and that `endpoint` and `region` point at the store that holds it',
    )
  }
  const regionHeader = e.$response?.headers?.['x-amz-bucket-region']
  if (
    name === 'PermanentRedirect' ||
    name === 'AuthorizationHeaderMalformed' ||
    name === 'IllegalLocationConstraintException' ||
    status === 301
  ) {
    const real = regionHeader ?? e.Region ?? /expecting '([a-z0-9-]+)'/.exec(e.message ?? '')?.[1]
    return input(
      `bucket \`${w.bucket}\` is not in region \`${w.region}\` (from ${w.regionFrom})${real ? `: it is in \`${real}\`` : ''}${tag}`,
      real
        ? `set \`region: ${real}\` (or AWS_REGION=${real})`
        : 'set `region` to the bucket’s region, or `endpoint` to the store that holds it',
    )
  }
  if (name === 'InvalidAccessKeyId') {
    return input(
      `the access key id from ${w.credentialsFrom} is not known to the store${at}, reading ${target}${tag}`,
      'check the credentials, and that `endpoint` is the store they belong to',
    )
  }
  if (name === 'SignatureDoesNotMatch') {
    return input(
      `the secret access key from ${w.credentialsFrom} does not match its key id, reading ${target}${tag}`,
      'check AWS_SECRET_ACCESS_KEY or the profile’s aws_secret_access_key',
    )
  }
  if (name === 'ExpiredToken' || name === 'TokenRefreshRequired' || name === 'InvalidToken') {
    return input(
      `the session credentials from ${w.credentialsFrom} have expired or are invalid, reading ${target}${tag}`,
      'get fresh credentials (aws sso login, or a new AWS_SESSION_TOKEN)',
    )
  }
  if (name === 'AccessDenied' || name === 'Forbidden' || name === 'AllAccessDisabled' || status === 403) {
    return input(
      `access to ${target} is denied${tag}`,
      `the credentials from ${w.credentialsFrom} need s3:ListBucket on bucket \`${w.bucket}\` and s3:GetObject on its keys`,
    )
  }
  if (name === 'PreconditionFailed' || status === 412) {
    return new ModelcarError('SOURCE_DIGEST_MISMATCH', `object ${target} was replaced during the run (its ETag changed)${tag}`, {
      hint: 'nothing was committed; run again once the upload to the bucket has finished',
      cause: err,
    })
  }
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) {
    return new ModelcarError('COMPONENT_FAILED', `object ${target} disappeared during the run${tag}`, {
      hint: 'nothing was committed; run again once the bucket has settled',
      cause: err,
    })
  }
  if (
    name === 'SlowDown' ||
    name === 'ServiceUnavailable' ||
    name === 'InternalError' ||
    (status !== undefined && (status === 429 || status >= 500))
  ) {
    return new ModelcarError(
      'COMPONENT_FAILED',
      `the store answered ${status ?? name} for ${target}${at}${e.message ? `: ${e.message}` : ''}${tag}`,
      { retryable: true, cause: err },
    )
  }
  if (
    code === 'ENOTFOUND' ||
    code === 'ECONNREFUSED' ||
    code === 'EHOSTUNREACH' ||
    code === 'ENETUNREACH' ||
    code === 'CERT_HAS_EXPIRED' ||
    code === 'DEPTH_ZERO_SELF_SIGNED_CERT' ||
    code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'
  ) {
    return new ModelcarError(
      'COMPONENT_FAILED',
      `cannot reach the S3 endpoint ${w.endpoint || `of region \`${w.region}\``} for ${target} (${code})`,
      {
        hint: 'check `endpoint` (or AWS_ENDPOINT_URL_S3), `region`, the network and proxy settings',
        cause: err,
      },
    )
  }
  if ((code && TRANSIENT_NETWORK.has(code)) || name === 'TimeoutError' || e.message === 'aborted') {
    return new ModelcarError('COMPONENT_FAILED', `the connection broke while reading ${target} (${code ?? name ?? e.message})`, {
      retryable: true,
      cause: err,
    })
  }
  return new ModelcarError(
    'COMPONENT_FAILED',
    `S3 refused ${target}${at}: ${name && name !== 'Error' ? `${name}: ` : ''}${e.message ?? String(err)}${tag}`,
    { cause: err },
  )
}
