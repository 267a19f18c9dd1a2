import { getEventListeners } from 'node:events'
import { describe, expect, it } from 'vitest'
import type { ModelFile } from '../components/model-file.js'
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
    for await (const c of readModelFile(file, { signal, retries: 20, backoffMs: 1 })) out.push(Buffer.from(c))
    expect(Buffer.concat(out).equals(content)).toBe(true)
    expect(starts).toEqual([...content.keys()])
    expect(getEventListeners(signal, 'abort')).toHaveLength(0)
  })
})
