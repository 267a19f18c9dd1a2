import { describe, expect, it } from 'vitest'
import { BodyBridge } from './body-bridge.js'

describe('BodyBridge', () => {
  it('resolves a write only once the body took the chunk (one chunk held at most)', async () => {
    const bridge = new BodyBridge()
    let taken = false
    const write = bridge.push(new Uint8Array([1, 2])).then(() => (taken = true))
    await new Promise((r) => setTimeout(r, 10))
    expect(taken).toBe(false)
    const reader = bridge.stream.getReader()
    expect((await reader.read()).value).toEqual(new Uint8Array([1, 2]))
    await write
    expect(taken).toBe(true)
    const second = bridge.push(new Uint8Array([3]))
    const read = reader.read()
    await second
    expect((await read).value).toEqual(new Uint8Array([3]))
    bridge.close()
    expect((await reader.read()).done).toBe(true)
  })

  it('rejects waiting and later writes once the body fails or is cancelled', async () => {
    const bridge = new BodyBridge()
    const waiting = bridge.push(new Uint8Array([1]))
    await bridge.stream.cancel(new Error('socket closed'))
    await expect(waiting).rejects.toThrow('socket closed')
    await expect(bridge.push(new Uint8Array([2]))).rejects.toThrow('socket closed')
  })
})
