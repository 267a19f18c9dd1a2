import { S3ServiceException } from '@aws-sdk/client-s3'
import { DEFAULT_RETRY_POLICY, silentLogger } from '@modelcar/core'
import { describe, expect, it } from 'vitest'
import { retried } from './s3-client.js'
import type { S3Where } from './s3-errors.js'

const where: S3Where = {
  bucket: 'ml',
  key: 'llm/',
  endpoint: 'http://s3.local',
  region: 'us-east-1',
  regionFrom: 'the default',
  credentialsFrom: 'AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY',
  pathStyle: true,
}
/** What the SDK throws for one S3 answer; Retry-After 0 keeps the test fast. */
const answer = (name: string, status: number) =>
  new S3ServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, requestId: 'REQ1' },
    message: name,
  })
const slowDown = () => Object.assign(answer('SlowDown', 503), { $response: { statusCode: 503, headers: { 'retry-after': '0' } } })

/** Counts the sends: each is one request (the client makes one attempt, maxAttempts 1). */
function sends(failures: (() => Error)[]): { send: () => Promise<string>; count: () => number } {
  let n = 0
  return {
    send: async () => {
      const fail = failures[n++]
      if (fail) throw fail()
      return 'page'
    },
    count: () => n,
  }
}

describe('retried: listing and HEAD requests under the project’s one policy', () => {
  it('asks again while S3 is busy or the connection breaks, then goes on', async () => {
    const s = sends([slowDown, () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })])
    const warnings: string[] = []
    const logger = { ...silentLogger, warn: (m: string) => void warnings.push(m) }
    await expect(retried(s.send, where, 'GET', { logger }, new AbortController().signal)).resolves.toBe('page')
    expect(s.count()).toBe(3)
    expect(warnings[0]).toMatch(/^the store answered 503 for `s3:\/\/ml\/llm\/`.*; asking again in 0 s \(retry 1\)$/)
  })

  it('a refusal no retry cures is one request', async () => {
    const s = sends([() => answer('AccessDenied', 403)])
    await expect(retried(s.send, where, 'HEAD', { logger: silentLogger }, new AbortController().signal)).rejects.toMatchObject({
      input: true,
      http: { method: 'HEAD', status: 403 },
    })
    expect(s.count()).toBe(1)
  })

  it('a store that stays busy: the policy’s tries, then an error nobody retries again', async () => {
    const s = sends(Array.from({ length: 20 }, () => slowDown))
    const err = await retried(s.send, where, 'GET', { logger: silentLogger }, new AbortController().signal).catch((e: unknown) => e)
    expect(s.count()).toBe(DEFAULT_RETRY_POLICY.attempts)
    expect(err).toMatchObject({ retryable: false, message: expect.stringMatching(/\(gave up after 5 tries\)$/) })
  })
})
