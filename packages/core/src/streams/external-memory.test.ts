import { describe, expect, it } from 'vitest'
import { collectExternalMemory, noteStreamed } from './external-memory.js'

describe('collectExternalMemory', () => {
  it('collects every 32 small chunks, every 1 MiB of tiny ones, every 8 MiB of large ones, above the floor', () => {
    let collections = 0
    collectExternalMemory(() => collections++, { floorBytes: 0 })
    for (let i = 0; i < 31; i++) noteStreamed(128 << 10)
    expect(collections).toBe(0)
    noteStreamed(128 << 10) // the 32nd chunk: 4 MiB
    expect(collections).toBe(1)
    for (let i = 0; i < 63; i++) noteStreamed(16 << 10) // 63 TLS records: under 1 MiB
    expect(collections).toBe(1)
    noteStreamed(16 << 10) // 1 MiB
    expect(collections).toBe(2)
    for (let i = 0; i < 7; i++) noteStreamed(1 << 20)
    expect(collections).toBe(2)
    noteStreamed(1 << 20) // the 8th MiB, 8 chunks
    expect(collections).toBe(3)
  })

  it('leaves the collector alone below the floor', () => {
    let collections = 0
    collectExternalMemory(() => collections++, { floorBytes: Number.MAX_SAFE_INTEGER })
    for (let i = 0; i < 1000; i++) noteStreamed(1 << 20)
    expect(collections).toBe(0)
  })
})
