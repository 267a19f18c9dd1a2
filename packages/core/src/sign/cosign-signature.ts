// cosign's key-based image signature: the "simple signing" payload naming the manifest digest,
// signed with ECDSA P-256 over SHA-256; the base64 signature rides in the annotation
// `dev.cosignproject.cosign/signature` of the payload's layer in the manifest at the tag
// `sha256-<hex>.sig`. `cosign verify --key` checks exactly that (and that the payload's
// `docker-manifest-digest` is the image it verifies).
import { sha256Digest } from '../oci/digest.js'
import type { AttachmentBlob } from '../contract/attachment.js'
import type { SigningKey } from './signing-key.js'

export const CosignMediaType = {
  simpleSigning: 'application/vnd.dev.cosign.simplesigning.v1+json',
} as const

export const CosignAnnotation = {
  signature: 'dev.cosignproject.cosign/signature',
  /** Ours: which key made a signature layer (sha256 of its public key), so a re-run does not add a second one. */
  signer: 'dev.modelcar.signer',
} as const

export const SIMPLE_SIGNING_TYPE = 'cosign container image signature'

/** cosign's tag for the signatures of an image: `sha256-<hex>.sig`. */
export function signatureTag(digest: string): string {
  return `${digest.replace(':', '-')}.sig`
}

/**
 * The payload cosign signs, byte for byte as cosign marshals it (Go's encoding/json: fields in
 * struct order, `optional` null when there are no annotations).
 */
export function simpleSigningPayload(repository: string, digest: string): Buffer {
  const payload = {
    critical: {
      identity: { 'docker-reference': repository },
      image: { 'docker-manifest-digest': digest },
      type: SIMPLE_SIGNING_TYPE,
    },
    optional: null,
  }
  return Buffer.from(JSON.stringify(payload))
}

/** The signature layer for the image `digest` stored in `repository`: payload bytes, signature annotation. */
export function cosignSignatureLayer(key: SigningKey, repository: string, digest: string): AttachmentBlob {
  const bytes = simpleSigningPayload(repository, digest)
  return {
    descriptor: {
      mediaType: CosignMediaType.simpleSigning,
      digest: sha256Digest(bytes),
      size: bytes.byteLength,
      annotations: {
        [CosignAnnotation.signature]: key.sign(bytes).toString('base64'),
        [CosignAnnotation.signer]: key.keyId,
      },
    },
    bytes,
  }
}

/** What a simple-signing payload says, or why it is not one. */
export function readSimpleSigning(bytes: Uint8Array): { digest: string; repository: string } | { problem: string } {
  let doc: { critical?: { identity?: { 'docker-reference'?: unknown }; image?: { 'docker-manifest-digest'?: unknown }; type?: unknown } }
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8')) as typeof doc
  } catch {
    return { problem: 'the payload is not JSON' }
  }
  const c = doc?.critical
  if (c?.type !== SIMPLE_SIGNING_TYPE) return { problem: `the payload's type is \`${String(c?.type)}\`, not \`${SIMPLE_SIGNING_TYPE}\`` }
  const digest = c.image?.['docker-manifest-digest']
  if (typeof digest !== 'string') return { problem: 'the payload names no `docker-manifest-digest`' }
  const repository = c.identity?.['docker-reference']
  return { digest, repository: typeof repository === 'string' ? repository : '' }
}
