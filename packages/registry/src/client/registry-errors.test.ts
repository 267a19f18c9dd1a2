import { describe, expect, it } from 'vitest'
import { redactUrl } from '@modelcar/core'
import { registryErrors } from './registry-errors.js'
import { withDigest } from './registry-client.js'

const ctx = { method: 'PUT', url: 'https://quay.io/v2/acme/m/manifests/v1?_state=SECRETSTATE', repository: 'quay.io/acme/m' }

describe('registry errors', () => {
  it('name method, URL without query, status and the registry code, with a hint and typed facts', async () => {
    const res = new Response(
      JSON.stringify({ errors: [{ code: 'MANIFEST_INVALID', message: 'manifest invalid', detail: 'http: request body too large' }] }),
      { status: 400, statusText: 'Bad Request' },
    )
    const err = await registryErrors.refusal(res, ctx)
    expect(err.code).toBe('REGISTRY_REFUSED')
    expect(err.message).toBe(
      '[PUT] https://quay.io/v2/acme/m/manifests/v1: 400 Bad Request: MANIFEST_INVALID manifest invalid (http: request body too large)',
    )
    expect(err.message).not.toContain('SECRETSTATE')
    expect(err.hint).toMatch(/refused the image manifest/)
    expect(err.retryable).toBe(false)
    expect(err.http).toEqual({
      method: 'PUT',
      url: 'https://quay.io/v2/acme/m/manifests/v1',
      status: 400,
      serverCodes: ['MANIFEST_INVALID'],
    })
  })

  it('mark 429/503 retryable with the Retry-After wait, and explain 403 DENIED', async () => {
    const busy = await registryErrors.refusal(new Response('', { status: 429, headers: { 'retry-after': '3' } }), ctx)
    expect(busy.retryable).toBe(true)
    expect(busy.retryAfterMs).toBe(3000)
    const denied = await registryErrors.refusal(
      new Response(JSON.stringify({ errors: [{ code: 'DENIED', message: 'requested access to the resource is denied' }] }), {
        status: 403,
      }),
      ctx,
    )
    expect(denied.message).toMatch(/403.*DENIED/)
    expect(denied.hint).toMatch(/may not push to `quay.io\/acme\/m`/)
    expect(denied.http?.serverCodes).toEqual(['DENIED'])
  })

  it('say which host is unknown', () => {
    const err = registryErrors.unreachable(
      Object.assign(new TypeError('fetch failed'), {
        cause: Object.assign(new Error('getaddrinfo ENOTFOUND nope.invalid'), { code: 'ENOTFOUND' }),
      }),
      'GET',
      'https://nope.invalid/v2/',
    )
    expect(err.code).toBe('REGISTRY_UNREACHABLE')
    expect(err.message).toMatch(/ENOTFOUND/)
    expect(err.hint).toMatch(/`nope.invalid` is unknown; check the registry name/)
    expect(err.retryable).toBe(false)
    const reset = registryErrors.unreachable(
      Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) }),
      ctx.method,
      ctx.url,
    )
    expect(reset.retryable).toBe(true)
    expect(reset.message).not.toContain('SECRETSTATE')
  })

  it('keep upload URLs exactly as the registry gave them when adding the digest', () => {
    expect(withDigest('http://h/v2/r/blobs/uploads/u?_state=a%2Bb%3D', 'sha256:00')).toBe(
      'http://h/v2/r/blobs/uploads/u?_state=a%2Bb%3D&digest=sha256%3A00',
    )
    expect(withDigest('/v2/r/blobs/uploads/u', 'sha256:00')).toBe('/v2/r/blobs/uploads/u?digest=sha256%3A00')
    expect(redactUrl('http://h:5000/v2/x?y=1')).toBe('http://h:5000/v2/x')
  })
})
