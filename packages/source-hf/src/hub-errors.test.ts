import { HubApiError } from '@huggingface/hub'
import { describe, expect, it } from 'vitest'
import { hubFailure, refusalError, refusalOf, type HubAsk } from './hub-errors.js'

const repo = { id: 'org/m', kind: 'model', type: 'model', name: 'org/m', webUrl: 'https://hub.example/org/m' } as const
const anonymous: HubAsk = { repo, revision: 'main', token: undefined }
const withToken: HubAsk = { repo, revision: 'main', token: { token: 'hf_x', from: 'HF_TOKEN' } }
const answer = (status: number, headers: Record<string, string>) =>
  refusalOf(new Response(null, { status, headers }), 'GET', 'https://hub.example/api/models/org/m/revision/main?expand=sha')

describe('refusalError', () => {
  it.each([
    [
      'gated, no token',
      answer(401, { 'x-error-code': 'GatedRepo' }),
      anonymous,
      /^model `org\/m` is gated: it needs a token with access \[401\]$/,
      /request access at https:\/\/hub.example\/org\/m/,
    ],
    [
      'gated, a token without access',
      answer(403, { 'x-error-code': 'GatedRepo' }),
      withToken,
      /the token from HF_TOKEN has no access/,
      /request access/,
    ],
    [
      'a missing revision',
      answer(404, { 'x-error-code': 'RevisionNotFound' }),
      anonymous,
      /^revision `main` does not exist in model `org\/m`/,
      /branch, a tag/,
    ],
    ['private or missing', answer(401, { 'x-error-code': 'RepoNotFound' }), anonymous, /was not found, or it is private/, /give a token/],
    [
      'an invalid token',
      answer(401, { 'x-error-message': 'Invalid credentials in Authorization header' }),
      withToken,
      /was not found, or it is private/,
      /the token from HF_TOKEN is not valid/,
    ],
  ])('%s: a message that says what it means, bad input, not retried', (_what, r, ask, message, hint) => {
    const err = refusalError(r, ask)
    expect(err.message).toMatch(message)
    expect(err.hint).toMatch(hint)
    expect([err.input, err.retryable]).toEqual([true, false])
  })

  it('carries the typed facts: method, redacted URL, status, request id and the Hub’s error code', () => {
    const err = refusalError(answer(401, { 'x-error-code': 'GatedRepo', 'x-request-id': 'Root=1-abc' }), anonymous)
    expect(err.http).toEqual({
      method: 'GET',
      url: 'https://hub.example/api/models/org/m/revision/main',
      status: 401,
      requestId: 'Root=1-abc',
      serverCodes: ['GatedRepo'],
    })
    expect(err.message).toContain('[401, request id Root=1-abc]')
  })

  it('a busy Hub: retryable, with the wait it asked for', () => {
    expect(refusalError(answer(503, { 'retry-after': '12' }), anonymous)).toMatchObject({
      retryable: true,
      retryAfterMs: 12_000,
      input: false,
    })
  })
})

describe('hubFailure', () => {
  it('a listing the client gave up on: the meaning of the refusal, the headers it recorded, not retried again', () => {
    const url = 'https://hub.example/api/models/org/m/tree/abc'
    const err = Object.assign(new HubApiError(url, 503, 'req-1'), { data: { error: 'Service Unavailable' } })
    const seen = new Map([[url, refusalOf(new Response(null, { status: 503, headers: { 'retry-after': '1' } }), 'GET', url)]])
    const failure = hubFailure(err, anonymous, seen)
    expect(failure).toMatchObject({
      message: 'the Hub answered 503 for https://hub.example/api/models/org/m/tree/abc: Service Unavailable [503, request id req-1]',
      retryable: false,
      http: { status: 503, requestId: 'req-1' },
    })
  })
})
