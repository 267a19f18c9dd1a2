import { describe, expect, it } from 'vitest'
import { skipBytes } from './skip-bytes.js'

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<string> {
  let out = ''
  for await (const c of chunks) out += Buffer.from(c).toString()
  return out
}

async function* pieces(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield Buffer.from(p)
}

describe('skipBytes', () => {
  it.each([0, 1, 3, 4, 5, 9, 10])('drops the first %i bytes across chunk boundaries', async (n) => {
    expect(await collect(skipBytes(pieces('abc', 'defg', '', 'hij'), n))).toBe('abcdefghij'.slice(n))
  })
})
