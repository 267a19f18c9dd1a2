import { describe, expect, it } from 'vitest'
import { retryAfterSeconds } from './retry-after.js'

describe('retryAfterSeconds', () => {
  it('reads delta seconds and HTTP dates, else backs off exponentially', () => {
    expect(retryAfterSeconds('7', 0)).toBe(7)
    expect(retryAfterSeconds(new Date(Date.now() + 3000).toUTCString(), 0)).toBeGreaterThanOrEqual(2)
    expect(retryAfterSeconds(null, 0)).toBe(1)
    expect(retryAfterSeconds(null, 3)).toBe(8)
    expect(retryAfterSeconds(null, 10)).toBe(30)
  })
})
