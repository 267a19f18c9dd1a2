import { describe, expect, it } from 'vitest'
import { displayUrl, refusal, unreachable } from './registry-errors.js'
import { withDigest } from './registry-client.js'

const ctx = { method: 'PUT', url: 'https://quay.io/v2/acme/m/manifests/v1?_state=SECRETSTATE', repository: 'quay.io/acme/m' }

describe('registry errors', () => {
  it('name method, URL without query, status and the registry code, with a hint', async () => {
    const res = new Response(
      JSON.stringify({ errors: [{ code: 'MANIFEST_INVALID', message: 'manifest invalid', detail: 'http: request body too large' }] }),
      { status: 400, statusText: 'Bad Request' },
    )
    const err = await refusal(res, ctx)
    expect(err.message).toBe(
      'PUT https://quay.io/v2/acme/m/manifests/v1: 400 Bad Request: MANIFEST_INVALID manifest invalid (http: request body too large)',
    )
    expect(err.message).not.toContain('SECRETSTATE')
    expect(err.hint).toMatch(/refused the image manifest/)
    expect(err.retryable).toBe(false)
  })

  it('mark 429/503 retryable with the Retry-After wait, and explain 403 DENIED', async () => {
    const busy = await refusal(new Response('', { status: 429, headers: { 'retry-after': '3' } }), ctx)
    expect(busy.retryable).toBe(true)
    expect((busy as unknown as { retryAfterMs: number }).retryAfterMs).toBe(3000)
    const denied = await refusal(
      new Response(JSON.stringify({ errors: [{ code: 'DENIED', message: 'requested access to the resource is denied' }] }), {
        status: 403,
      }),
      ctx,
    )
    expect(denied.message).toMatch(/403.*DENIED/)
    expect(denied.hint).toMatch(/may not push to `quay.io\/acme\/m`/)
  })

  it('say which host is unknown', () => {
    const err = unreachable(
      Object.assign(new TypeError('fetch failed'), {
        cause: Object.assign(new Error('getaddrinfo ENOTFOUND nope.invalid'), { code: 'ENOTFOUND' }),
      }),
      { ...ctx, url: 'https://nope.invalid/v2/' },
    )
    expect(err.message).toMatch(/ENOTFOUND/)
    expect(err.hint).toMatch(/`nope.invalid` is unknown/)
    expect(err.retryable).toBe(false)
    const reset = unreachable(
      Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) }),
      ctx,
    )
    expect(reset.retryable).toBe(true)
  })

  it('keep upload URLs exactly as the registry gave them when adding the digest', () => {
    expect(withDigest('http://h/v2/r/blobs/uploads/u?_state=a%2Bb%3D', 'sha256:00')).toBe(
      'http://h/v2/r/blobs/uploads/u?_state=a%2Bb%3D&digest=sha256%3A00',
    )
    expect(withDigest('/v2/r/blobs/uploads/u', 'sha256:00')).toBe('/v2/r/blobs/uploads/u?digest=sha256%3A00')
    expect(displayUrl('http://h:5000/v2/x?y=1')).toBe('http://h:5000/v2/x')
  })
})
