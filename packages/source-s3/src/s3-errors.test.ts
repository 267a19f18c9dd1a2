import { NoSuchBucket, S3ServiceException } from '@aws-sdk/client-s3'
import { describe, expect, it } from 'vitest'
import { s3Error, type S3Where } from './s3-errors.js'

const where: S3Where = {
  bucket: 'ml',
  key: 'llm/w.bin',
  endpoint: 'http://s3.local',
  region: 'us-east-1',
  regionFrom: 'the default',
  credentialsFrom: 'AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY',
  pathStyle: true,
}
const meta = (status: number) => ({ httpStatusCode: status, requestId: 'REQ123', attempts: 1, totalRetryDelay: 0 })
const svc = (name: string, status: number, extra: object = {}) =>
  Object.assign(new S3ServiceException({ name, $fault: 'client', $metadata: meta(status), message: `${name} happened` }), extra)

describe('s3Error', () => {
  it.each([
    [
      'a missing bucket',
      new NoSuchBucket({ $metadata: meta(404), message: 'The specified bucket does not exist' }),
      /bucket `ml` does not exist at http:\/\/s3.local \[404, request id REQ123\]/,
      true,
      false,
    ],
    ['denied access', svc('AccessDenied', 403), /access to `s3:\/\/ml\/llm\/w.bin` is denied \[403/, true, false],
    ['a HEAD refused (no error body)', svc('Forbidden', 403), /is denied/, true, false],
    [
      'an unknown key id',
      svc('InvalidAccessKeyId', 403),
      /access key id from AWS_ACCESS_KEY_ID\/AWS_SECRET_ACCESS_KEY is not known/,
      true,
      false,
    ],
    [
      'the wrong region (301)',
      svc('PermanentRedirect', 301, { $response: { statusCode: 301, headers: { 'x-amz-bucket-region': 'eu-central-1' } } }),
      /not in region `us-east-1` \(from the default\): it is in `eu-central-1`/,
      true,
      false,
    ],
    [
      'the wrong region (400)',
      svc('AuthorizationHeaderMalformed', 400, { message: "the region 'us-east-1' is wrong; expecting 'ap-south-1'" }),
      /it is in `ap-south-1`/,
      true,
      false,
    ],
    ['an object replaced mid-run', svc('PreconditionFailed', 412), /`s3:\/\/ml\/llm\/w.bin` was replaced during the run/, false, false],
    ['throttling', svc('SlowDown', 503), /answered 503/, false, true],
    [
      'no credentials',
      Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }),
      /no AWS credentials found/,
      true,
      false,
    ],
    [
      'a refused connection',
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
      /cannot reach the S3 endpoint http:\/\/s3.local/,
      false,
      false,
    ],
    [
      'a reset mid-body',
      Object.assign(new Error('aborted'), { code: 'ECONNRESET' }),
      /connection broke while reading `s3:\/\/ml\/llm\/w.bin`/,
      false,
      true,
    ],
  ])('%s', (_what, err, message, input, retryable) => {
    const e = s3Error(err, where)
    expect(e.message).toMatch(message)
    expect({ input: e.input, retryable: e.retryable }).toEqual({ input, retryable })
  })

  it('carries the typed http facts the SDK gives: method, the object’s URL, status, request id', () => {
    expect(s3Error(svc('AccessDenied', 403), where, 'HEAD').http).toEqual({
      method: 'HEAD',
      url: 'http://s3.local/ml/llm/w.bin',
      status: 403,
      requestId: 'REQ123',
    })
    expect(s3Error(svc('AccessDenied', 403), { ...where, endpoint: '', region: 'eu-west-1', pathStyle: false }).http?.url).toBe(
      'https://ml.s3.eu-west-1.amazonaws.com/llm/w.bin',
    )
    // No answer, no status: the request is still named.
    expect(s3Error(Object.assign(new Error('reset'), { code: 'ECONNRESET' }), where).http).toEqual({
      method: 'GET',
      url: 'http://s3.local/ml/llm/w.bin',
    })
  })

  it('a throttled answer carries the Retry-After S3 sent; any refusal that no retry cures does not', () => {
    const slow = svc('SlowDown', 503, { $response: { statusCode: 503, headers: { 'Retry-After': '3' } } })
    expect(s3Error(slow, where)).toMatchObject({ retryable: true, retryAfterMs: 3000 })
    expect(s3Error(svc('SlowDown', 503), where).retryAfterMs).toBeUndefined()
    const denied = svc('AccessDenied', 403, { $response: { statusCode: 403, headers: { 'retry-after': '3' } } })
    expect(s3Error(denied, where)).toMatchObject({ retryable: false, retryAfterMs: undefined })
  })

  it('a hint for denied access says which permissions and where the credentials came from', () => {
    expect(s3Error(svc('AccessDenied', 403), where).hint).toBe(
      'the credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY need s3:ListBucket on bucket `ml` and s3:GetObject on its keys',
    )
  })
})
