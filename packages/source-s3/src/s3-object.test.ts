import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { contentDigest } from './s3-object.js'

const content = Buffer.from('weights')
const hex = createHash('sha256').update(content).digest('hex')
const b64 = createHash('sha256').update(content).digest('base64')

describe('contentDigest', () => {
  it('takes a full-object SHA-256 checksum as the content digest', () => {
    expect(contentDigest({ ChecksumSHA256: b64, ChecksumType: 'FULL_OBJECT' })).toBe(`sha256:${hex}`)
    // Older stores send no ChecksumType; a value without a part count is a full-object one.
    expect(contentDigest({ ChecksumSHA256: b64 })).toBe(`sha256:${hex}`)
  })

  it('ignores a composite (multipart) checksum: it hashes the parts’ checksums, not the content', () => {
    expect(contentDigest({ ChecksumSHA256: `${b64}-3`, ChecksumType: 'COMPOSITE' })).toBeUndefined()
    expect(contentDigest({ ChecksumSHA256: b64, ChecksumType: 'COMPOSITE' })).toBeUndefined()
    expect(contentDigest({ ChecksumSHA256: `${b64}-3` })).toBeUndefined()
  })

  it('falls back to a hex sha256 in user metadata, and rejects malformed values', () => {
    expect(contentDigest({ Metadata: { sha256: hex.toUpperCase() } })).toBe(`sha256:${hex}`)
    expect(contentDigest({ ChecksumSHA256: `${b64}-2`, ChecksumType: 'COMPOSITE', Metadata: { sha256: hex } })).toBe(`sha256:${hex}`)
    expect(contentDigest({ Metadata: { sha256: 'abc' } })).toBeUndefined()
    expect(contentDigest({ ChecksumSHA256: 'bm90IGEgaGFzaA==', ChecksumType: 'FULL_OBJECT' })).toBeUndefined()
    expect(contentDigest({})).toBeUndefined()
  })
})
