import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { errors, ModelcarError } from '@modelcar/core'
import { exitCodeOf } from './exit-codes.js'
import { errorLines, Output } from './output.js'

/** An Output whose stdout and stderr are kept as text. */
function captured(json: boolean, env: Record<string, string> = {}) {
  const text = { out: '', err: '' }
  const sink = (key: 'out' | 'err') =>
    new Writable({
      write(chunk: Buffer, _enc, done) {
        text[key] += chunk.toString()
        done()
      },
    })
  return { output: new Output(json, env, sink('out'), sink('err')), text }
}

describe('errors as people read them', () => {
  it('a plugin error with diagnostics keeps its hint, and says what the server answered', () => {
    const err = errors.componentFailed(
      'acme',
      'list',
      new ModelcarError('ACME_QUOTA', 'over quota', {
        hint: 'ask for more room',
        diagnostics: [{ message: 'bucket `m`: 0 bytes left', hint: 'free some' }],
        http: { method: 'GET', url: 'https://store.example/m', status: 507, requestId: 'r-1', serverCodes: ['QUOTA'] },
      }),
    )
    expect(errorLines(err)).toEqual([
      'error: [acme] list failed: over quota',
      '  bucket `m`: 0 bytes left\n    hint: free some',
      '  hint: ask for more room',
      '  http: [GET] https://store.example/m: status 507, request id r-1, server codes QUOTA',
    ])
  })

  it('says a hint once when a diagnostic already carries it, and a diagnostic that repeats the message not at all', () => {
    const unknown = errors.componentUnknown('gcs', 'source', 'npm install modelcar-source-gcs')
    expect(errorLines(unknown)).toEqual(['error: unknown source `gcs`', '  hint: npm install modelcar-source-gcs'])
    const located = errors.componentUnknown('gcs', 'source', 'npm install it', { file: 'r.yaml', line: 3, col: 11 })
    expect(errorLines(located)).toEqual(['error: unknown source `gcs`', '  r.yaml:3:11: unknown source `gcs`\n    hint: npm install it'])
  })

  it('leaves out HTTP facts the message already says', () => {
    const err = new ModelcarError('HTTP_REFUSED', '[GET] https://h/p: 404 Not Found [request id x]', {
      http: { method: 'GET', url: 'https://h/p', status: 404, requestId: 'x' },
    })
    expect(errorLines(err)).toEqual(['error: [GET] https://h/p: 404 Not Found [request id x]'])
  })

  it('--json: one error event with code, component, phase, hint and http; secrets masked', () => {
    const { output, text } = captured(true, { HF_TOKEN: 'hf_secretvalue' })
    output.error(
      errors.componentFailed(
        'hf',
        'open',
        new ModelcarError('HF_REFUSED', 'refused with hf_secretvalue', {
          hint: 'log in',
          http: { method: 'GET', url: 'https://hub/x', status: 401 },
        }),
      ),
    )
    expect(text.err).toBe('')
    expect(JSON.parse(text.out)).toEqual({
      type: 'error',
      code: 'HF_REFUSED',
      message: '[hf] open failed: refused with ***',
      hint: 'log in',
      component: 'hf',
      phase: 'open',
      diagnostics: [],
      http: { method: 'GET', url: 'https://hub/x', status: 401 },
    })
  })

  it('anything but a ModelcarError is a bug: said as one, exit 1', () => {
    const { output, text } = captured(false)
    output.error(new TypeError('x is undefined'))
    expect(text.err).toContain('error: x is undefined\n')
    expect(exitCodeOf(new TypeError('x'))).toBe(1)
    expect(exitCodeOf(errors.argumentInvalid('bad'))).toBe(2)
    expect(exitCodeOf(errors.blobMissing('sha256:0', 'x'))).toBe(1)
    expect(exitCodeOf('a string')).toBe(1)
  })
})
