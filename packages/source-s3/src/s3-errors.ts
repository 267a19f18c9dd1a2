// What S3's refusals mean for the user: a missing bucket, denied access, missing credentials, the
// wrong region or endpoint, an object replaced mid-run. Each message names the bucket (and key),
// the status and request id, and the error carries them as typed http facts; credentials never
// appear, only where they were looked up. One table, read top to bottom: the first rule that fits.
import { isRetryableStatus, isTransientNetworkError, ModelcarError, parseRetryAfter, type HttpFacts } from '@modelcar/core'

export interface S3Where {
  bucket: string
  /** The object, or for a listing the prefix (shown as `s3://bucket/prefix`). */
  key: string
  /** As messages show it (no user info); empty for AWS S3 of `region`. */
  endpoint: string
  region: string
  regionFrom: string
  credentialsFrom: string
  /** Whether the bucket is in the path (`host/bucket/key`) rather than the host name: for the URL of http facts. */
  pathStyle: boolean
}

interface SdkError {
  name?: string
  message?: string
  code?: string
  Region?: string
  cause?: { code?: string }
  $retryable?: unknown
  $metadata?: { httpStatusCode?: number; requestId?: string }
  $response?: { statusCode?: number; headers?: Record<string, string | undefined> }
}

/** What an SDK error says, read once. */
interface Facts {
  name: string
  status: number | undefined
  /** A Node or undici error code: `ECONNREFUSED`, `ECONNRESET`. */
  code: string | undefined
  message: string
  region: string | undefined
  err: SdkError
}

interface Said {
  code?: string
  message: string
  hint?: string
  input?: boolean
  retryable?: boolean
}

type Rule = [when: (f: Facts) => boolean, say: (f: Facts, w: S3Where) => Said]

export const s3Url = (bucket: string, key: string): string => `s3://${bucket}/${key}`

const target = (w: S3Where) => `\`${s3Url(w.bucket, w.key)}\``
const at = (w: S3Where) => (w.endpoint ? ` at ${w.endpoint}` : '')
const named =
  (...names: string[]) =>
  (f: Facts) =>
    names.includes(f.name)

const RULES: Rule[] = [
  [
    (f) => f.name === 'CredentialsProviderError' || /Could not load credentials/i.test(f.message),
    (_f, w) => ({
      message: `no AWS credentials found to read ${target(w)}`,
      hint: `looked in ${w.credentialsFrom}; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with a profile in ~/.aws/credentials`,
      input: true,
    }),
  ],
  [
    named('NoSuchBucket'),
    (_f, w) => ({
      message: `bucket \`${w.bucket}\` does not exist${at(w)}`,
      hint: 'check `bucket`, and that `endpoint` and `region` point at the store that holds it',
      input: true,
    }),
  ],
  [
    (f) => named('PermanentRedirect', 'AuthorizationHeaderMalformed', 'IllegalLocationConstraintException')(f) || f.status === 301,
    (f, w) => ({
      message: `bucket \`${w.bucket}\` is not in region \`${w.region}\` (from ${w.regionFrom})${f.region ? `: it is in \`${f.region}\`` : ''}`,
      hint: f.region
        ? `set \`region: ${f.region}\` (or AWS_REGION=${f.region})`
        : 'set `region` to the bucket’s region, or `endpoint` to the store that holds it',
      input: true,
    }),
  ],
  [
    named('InvalidAccessKeyId'),
    (_f, w) => ({
      message: `the access key id from ${w.credentialsFrom} is not known to the store${at(w)}, reading ${target(w)}`,
      hint: 'check the credentials, and that `endpoint` is the store they belong to',
      input: true,
    }),
  ],
  [
    named('SignatureDoesNotMatch'),
    (_f, w) => ({
      message: `the secret access key from ${w.credentialsFrom} does not match its key id, reading ${target(w)}`,
      hint: 'check AWS_SECRET_ACCESS_KEY or the profile’s aws_secret_access_key',
      input: true,
    }),
  ],
  [
    named('ExpiredToken', 'TokenRefreshRequired', 'InvalidToken'),
    (_f, w) => ({
      message: `the session credentials from ${w.credentialsFrom} have expired or are invalid, reading ${target(w)}`,
      hint: 'get fresh credentials (aws sso login, or a new AWS_SESSION_TOKEN)',
      input: true,
    }),
  ],
  [
    (f) => named('AccessDenied', 'Forbidden', 'AllAccessDisabled')(f) || f.status === 403,
    (_f, w) => ({
      message: `access to ${target(w)} is denied`,
      hint: `the credentials from ${w.credentialsFrom} need s3:ListBucket on bucket \`${w.bucket}\` and s3:GetObject on its keys`,
      input: true,
    }),
  ],
  [
    (f) => f.name === 'PreconditionFailed' || f.status === 412,
    (_f, w) => ({
      code: 'SOURCE_DIGEST_MISMATCH',
      message: `object ${target(w)} was replaced during the run (its ETag changed)`,
      hint: 'nothing was committed; run again once the upload to the bucket has finished',
    }),
  ],
  [
    (f) => named('NoSuchKey', 'NotFound')(f) || f.status === 404,
    (_f, w) => ({
      message: `object ${target(w)} disappeared during the run`,
      hint: 'nothing was committed; run again once the bucket has settled',
    }),
  ],
  [
    (f) =>
      named('SlowDown', 'ServiceUnavailable', 'InternalError', 'RequestTimeout')(f) ||
      (f.status !== undefined && isRetryableStatus(f.status)) ||
      f.err.$retryable !== undefined,
    (f, w) => ({
      message: `the store answered ${f.status ?? f.name} for ${target(w)}${at(w)}${f.message ? `: ${f.message}` : ''}`,
      retryable: true,
    }),
  ],
  [
    (f) => f.status === undefined && (isTransientNetworkError(f.err) || f.name === 'TimeoutError'),
    (f, w) => ({ message: `the connection broke while reading ${target(w)} (${f.code ?? f.name})`, retryable: true }),
  ],
  [
    // Any other system error without an answer: a host that is unknown, refuses, or fails TLS.
    (f) => f.status === undefined && f.code !== undefined,
    (f, w) => ({
      message: `cannot reach the S3 endpoint ${w.endpoint || `of region \`${w.region}\``} for ${target(w)} (${f.code})`,
      hint: 'check `endpoint` (or AWS_ENDPOINT_URL_S3), `region`, the network and proxy settings',
    }),
  ],
]

/** Any failure of an S3 request (or of its body) as a ModelcarError that says what it means. `method` is the request's, for the http facts. */
export function s3Error(err: unknown, w: S3Where, method = 'GET'): ModelcarError {
  if (err instanceof ModelcarError) return err
  const f = factsOf(err)
  const rule = RULES.find(([when]) => when(f))
  const said: Said = rule
    ? rule[1](f, w)
    : { message: `S3 refused ${target(w)}${at(w)}: ${f.name && f.name !== 'Error' ? `${f.name}: ` : ''}${f.message || String(err)}` }
  const requestId = f.err.$metadata?.requestId
  const tag = f.status ? ` [${f.status}${requestId ? `, request id ${requestId}` : ''}]` : ''
  const retryAfterMs = said.retryable ? parseRetryAfter(headerOf(f.err, 'retry-after')) : undefined
  return new ModelcarError(said.code ?? 'COMPONENT_FAILED', `${said.message}${tag}`, {
    hint: said.hint,
    input: said.input ?? false,
    retryable: said.retryable ?? false,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    cause: err,
    http: httpFacts(w, method, f.status, requestId),
  })
}

function factsOf(err: unknown): Facts {
  const e = (err ?? {}) as SdkError
  const message = e.message ?? ''
  return {
    name: e.name ?? '',
    status: e.$metadata?.httpStatusCode ?? e.$response?.statusCode,
    code: e.code ?? e.cause?.code,
    message,
    region: headerOf(e, 'x-amz-bucket-region') ?? e.Region ?? /expecting '([a-z0-9-]+)'/.exec(message)?.[1],
    err: e,
  }
}

function headerOf(e: SdkError, name: string): string | undefined {
  const headers = e.$response?.headers ?? {}
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name)
  return key === undefined ? undefined : headers[key]
}

/** The request as HTTP saw it: the object's URL at the endpoint (origin and path only), status and request id. */
function httpFacts(w: S3Where, method: string, status: number | undefined, requestId: string | undefined): HttpFacts {
  return { method, url: httpUrl(w), ...(status !== undefined ? { status } : {}), ...(requestId ? { requestId } : {}) }
}

function httpUrl(w: S3Where): string {
  const path = w.key.split('/').map(encodeURIComponent).join('/')
  try {
    const base = new URL(w.endpoint || `https://s3.${w.region}.amazonaws.com`)
    return w.pathStyle ? `${base.origin}/${w.bucket}/${path}` : `${base.protocol}//${w.bucket}.${base.host}/${path}`
  } catch {
    return s3Url(w.bucket, w.key)
  }
}
