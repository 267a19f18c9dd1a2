import { describe, expect, it } from 'vitest'
import { BodyBridge } from './body-bridge.js'

const tick = () => new Promise((r) => setTimeout(r, 10))

describe('BodyBridge', () => {
  it('lets writes run ahead up to its limit, then waits until the body takes chunks', async () => {
    const bridge = new BodyBridge(4)
    let done = 0
    await bridge.push(new Uint8Array([1, 2]))
    const full = bridge.push(new Uint8Array([3, 4])).then(() => done++)
    await tick()
    expect(done).toBe(0) // 4 bytes held: the limit
    const reader = bridge.stream.getReader()
    expect((await reader.read()).value).toEqual(new Uint8Array([1, 2]))
    await full
    expect(done).toBe(1)
    expect((await reader.read()).value).toEqual(new Uint8Array([3, 4]))
    bridge.close()
    expect((await reader.read()).done).toBe(true)
  })

  it('rejects waiting and later writes once the body fails or is cancelled', async () => {
    const bridge = new BodyBridge(1)
    const waiting = bridge.push(new Uint8Array([1]))
    await bridge.stream.cancel(new Error('socket closed'))
    await expect(waiting).rejects.toThrow('socket closed')
    await expect(bridge.push(new Uint8Array([2]))).rejects.toThrow('socket closed')
  })
})
