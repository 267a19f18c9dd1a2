import { getEventListeners } from 'node:events'
import { describe, expect, it } from 'vitest'
import type { ModelFile } from '../contract/model-file.js'
import { ModelcarError } from '../errors/modelcar-error.js'
import { readModelFile } from './read-model-file.js'

describe('readModelFile', () => {
  it('resumes cut reads at the byte received, and leaves no listener on the run’s signal however many retries', async () => {
    const content = Buffer.from('01234567')
    const starts: number[] = []
    const file: ModelFile = {
      path: 'x.bin',
      size: content.length,
      async open({ start = 0 } = {}) {
        starts.push(start)
        // Each read gives one byte, then the connection breaks.
        return (async function* () {
          yield content.subarray(start, start + 1)
          if (start + 1 < content.length) throw Object.assign(new Error('aborted'), { code: 'ECONNRESET' })
        })()
      },
    }
    const signal = new AbortController().signal
    const out: Buffer[] = []
    for await (const c of readModelFile(file, { signal, policy: { attempts: 2, firstDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1 } }))
      out.push(Buffer.from(c))
    expect(Buffer.concat(out).equals(content)).toBe(true)
    expect(starts).toEqual([...content.keys()])
    expect(getEventListeners(signal, 'abort')).toHaveLength(0)
  })

  it('gives up after the policy’s tries when no byte comes, waits what the source asked for, and says it will not retry again', async () => {
    let opens = 0
    const file: ModelFile = {
      path: 'x.bin',
      size: 4,
      async open() {
        opens++
        throw new ModelcarError('HTTP_REFUSED', 'busy', { retryable: true, retryAfterMs: 5 })
      },
    }
    const waits: number[] = []
    const started = performance.now()
    const read = async () => {
      for await (const _ of readModelFile(file, {
        policy: { attempts: 3, firstDelayMs: 1000, maxDelayMs: 1000, maxRetryAfterMs: 1000 },
        onRetry: (n) => waits.push(n),
      }))
        void _
    }
    const err = await read().catch((e: unknown) => e)
    expect(opens).toBe(3)
    expect(waits).toEqual([1, 2])
    // Retry-After (5 ms), not the policy's 1 s backoff
    expect(performance.now() - started).toBeLessThan(900)
    expect(err).toBeInstanceOf(ModelcarError)
    expect((err as ModelcarError).retryable).toBe(false)
    expect((err as ModelcarError).message).toMatch(/busy \(gave up after 3 tries\)/)
  })

  it('computes the content digest when asked, without an announced one', async () => {
    const content = Buffer.from('hello')
    const file: ModelFile = { path: 'x', size: 5, open: async () => [content] }
    let digest = ''
    for await (const _ of readModelFile(file, { onDigest: (d) => (digest = d) })) void _
    expect(digest).toBe('sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824')
  })
})
