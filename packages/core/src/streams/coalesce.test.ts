import { describe, expect, it } from 'vitest'
import { coalesce } from './coalesce.js'

async function* pieces(sizes: number[], failAfter?: number): AsyncGenerator<Uint8Array> {
  for (const [i, n] of sizes.entries()) {
    if (i === failAfter) throw Object.assign(new Error('aborted'), { code: 'ECONNRESET' })
    yield new Uint8Array(n).fill(i)
  }
}

describe('coalesce', () => {
  it('gathers small chunks into blocks and passes big ones through', async () => {
    const out: number[] = []
    for await (const b of coalesce(pieces([3, 3, 3, 10, 2]), 8)) out.push(b.byteLength)
    expect(out).toEqual([9, 10, 2])
  })

  it('hands on the bytes that arrived before an error, then throws it', async () => {
    const out: number[] = []
    const err = await (async () => {
      for await (const b of coalesce(pieces([3, 3, 3, 3, 3], 4), 8)) out.push(b.byteLength)
    })().catch((e: unknown) => e)
    expect(out).toEqual([9, 3])
    expect(err).toMatchObject({ code: 'ECONNRESET' })
  })
})
