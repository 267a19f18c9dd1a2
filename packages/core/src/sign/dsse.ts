// DSSE envelopes (the in-toto signing format): the signature covers the pre-authentication
// encoding `DSSEv1 <len> <payloadType> <len> <payload>`, so the payload type cannot be swapped.
import type { SigningKey, VerifyingKey } from './signing-key.js'

export const DSSE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json'

export interface DsseEnvelope {
  payloadType: string
  /** base64 of the payload. */
  payload: string
  signatures: { keyid: string; sig: string }[]
}

/** PAE(type, body), the bytes a DSSE signature is made over. */
export function preAuthEncoding(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8')
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.byteLength} `), type, Buffer.from(` ${payload.byteLength} `), payload])
}

export function signEnvelope(payloadType: string, payload: Uint8Array, key: SigningKey): DsseEnvelope {
  return {
    payloadType,
    payload: Buffer.from(payload).toString('base64'),
    // The keyid is left empty, as cosign leaves it: a verifier tries the key it was given.
    signatures: [{ keyid: '', sig: key.sign(preAuthEncoding(payloadType, payload)).toString('base64') }],
  }
}

/** Whether any signature of the envelope verifies with `key`. */
export function envelopeVerifies(envelope: DsseEnvelope, key: VerifyingKey): boolean {
  const pae = preAuthEncoding(envelope.payloadType, Buffer.from(envelope.payload, 'base64'))
  return (envelope.signatures ?? []).some((s) => key.verify(pae, Buffer.from(s.sig, 'base64')))
}
