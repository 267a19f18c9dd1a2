import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { cosignSignatureLayer, readSimpleSigning, signatureTag, simpleSigningPayload } from './cosign-signature.js'
import { envelopeVerifies, preAuthEncoding, signEnvelope } from './dsse.js'
import { signingKey } from './signing-key.js'

const DIGEST = `sha256:${'ab'.repeat(32)}`

describe('cosign key-based signatures', () => {
  it('the payload is byte for byte what cosign marshals, and names the digest', () => {
    expect(simpleSigningPayload('quay.io/acme/granite', DIGEST).toString()).toBe(
      `{"critical":{"identity":{"docker-reference":"quay.io/acme/granite"},"image":{"docker-manifest-digest":"${DIGEST}"},"type":"cosign container image signature"},"optional":null}`,
    )
    expect(signatureTag(DIGEST)).toBe(`sha256-${'ab'.repeat(32)}.sig`)
    expect(readSimpleSigning(simpleSigningPayload('r', DIGEST))).toEqual({ digest: DIGEST, repository: 'r' })
    expect(readSimpleSigning(Buffer.from('{"critical":{"type":"other"}}'))).toHaveProperty('problem')
  })

  it('the layer carries an ECDSA P-256 / SHA-256 signature of the payload in cosign’s annotation', () => {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const layer = cosignSignatureLayer(signingKey(pair.privateKey, 'test'), 'r', DIGEST)
    expect(layer.descriptor.mediaType).toBe('application/vnd.dev.cosign.simplesigning.v1+json')
    const sig = Buffer.from(layer.descriptor.annotations!['dev.cosignproject.cosign/signature']!, 'base64')
    expect(verify('sha256', layer.bytes, pair.publicKey, sig)).toBe(true)
    expect(verify('sha256', Buffer.concat([layer.bytes, Buffer.from(' ')]), pair.publicKey, sig)).toBe(false)
  })
})

describe('DSSE', () => {
  it('PAE as the spec gives it; an envelope verifies only over its own type and payload', () => {
    // The DSSE spec's worked example.
    expect(preAuthEncoding('http://example.com/HelloWorld', Buffer.from('hello world')).toString()).toBe(
      'DSSEv1 29 http://example.com/HelloWorld 11 hello world',
    )
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const key = signingKey(pair.privateKey, 'test')
    const envelope = signEnvelope('application/vnd.in-toto+json', Buffer.from('{"a":1}'), key)
    const pub = {
      source: 'pub',
      keyId: key.keyId,
      verify: (d: Uint8Array, s: Uint8Array) => verify('sha256', d, createPublicKey(key.publicKeyPem), s),
    }
    expect(envelopeVerifies(envelope, pub)).toBe(true)
    expect(envelopeVerifies({ ...envelope, payloadType: 'text/plain' }, pub)).toBe(false)
    expect(envelopeVerifies({ ...envelope, payload: Buffer.from('{"a":2}').toString('base64') }, pub)).toBe(false)
  })
})
