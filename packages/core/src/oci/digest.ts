// sha256 digests of byte strings and JSON documents.
import { createHash } from 'node:crypto'

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/

export function isDigest(s: unknown): s is string {
  return typeof s === 'string' && DIGEST_RE.test(s)
}

export function sha256Digest(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`
}

/** The hex part of `sha256:<hex>`. */
export function digestHex(digest: string): string {
  return digest.slice(digest.indexOf(':') + 1)
}

/**
 * The exact bytes of a JSON document as modelcar writes it: compact, keys in the order they were
 * read or built. Same input, same bytes, same digest.
 */
export function encodeJson(doc: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(doc), 'utf8')
}
