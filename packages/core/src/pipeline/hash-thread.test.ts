import { createHash, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { ModelFile } from '../contract/model-file.js'
import { threadedSha256 } from './hash-thread.js'
import { readModelFile } from './read-model-file.js'

const sha = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`

function fileOf(body: Buffer, digest: string, piece = 65_521): ModelFile {
  return {
    path: 'w.safetensors',
    size: body.length,
    digest,
    async open({ start = 0 } = {}) {
      return (async function* () {
        for (let i = start; i < body.length; i += piece) yield body.subarray(i, Math.min(body.length, i + piece))
      })()
    },
  }
}

describe('threadedSha256', () => {
  it('hashes like node:crypto, whatever the chunk sizes, with streams side by side', async () => {
    const a = randomBytes(5 << 20)
    const b = randomBytes(3 << 20)
    const ha = threadedSha256()
    const hb = threadedSha256()
    for (let i = 0; i < a.length; i += 777_777) {
      await ha.update(a.subarray(i, i + 777_777))
      if (i < b.length) await hb.update(b.subarray(i, i + 777_777))
    }
    expect(await ha.digest()).toBe(sha(a))
    expect(await hb.digest()).toBe(sha(b))
    hb.close() // after digest: harmless
  })

  it('gathers small chunks into blocks across their boundaries, and sends a part-filled last block', async () => {
    const body = randomBytes((4 << 20) + 12_345)
    const h = threadedSha256()
    // 16 KiB (a TLS record), odd sizes that straddle the block edge, one bigger than a block.
    const sizes = [16_384, 1000, 65_536, 3 << 20, 7]
    for (let i = 0, k = 0; i < body.length; k++) {
      const n = sizes[k % sizes.length]!
      await h.update(body.subarray(i, i + n))
      i += n
    }
    expect(await h.digest()).toBe(sha(body))
  })

  it('readModelFile checks large files on the thread: right digest passes, wrong one fails', async () => {
    const body = randomBytes(20 << 20)
    let n = 0
    for await (const c of readModelFile(fileOf(body, sha(body)))) n += c.byteLength
    expect(n).toBe(body.length)
    const wrong = readModelFile(fileOf(body, `sha256:${'0'.repeat(64)}`))
    await expect(
      (async () => {
        for await (const _ of wrong) {
          /* drain */
        }
      })(),
    ).rejects.toMatchObject({ code: 'SOURCE_DIGEST_MISMATCH' })
  })
})
