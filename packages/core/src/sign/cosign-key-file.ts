// cosign's encrypted private key files (`cosign generate-key-pair`): a PEM block
// `ENCRYPTED SIGSTORE PRIVATE KEY` (older: `ENCRYPTED COSIGN PRIVATE KEY`) holding JSON from
// go-securesystemslib's `encrypted` package — scrypt derives a 32-byte key from the password and
// a salt, and NaCl secretbox (XSalsa20-Poly1305) seals the PKCS#8 DER of the key.
import { randomBytes, scryptSync } from 'node:crypto'
import { secretbox } from '@noble/ciphers/salsa.js'

export const COSIGN_PEM_TYPES = ['ENCRYPTED SIGSTORE PRIVATE KEY', 'ENCRYPTED COSIGN PRIVATE KEY'] as const

/** The JSON in the PEM block; Go writes `[]byte` fields as standard base64. */
interface SealedKey {
  kdf: { name: string; params: { N: number; r: number; p: number }; salt: string }
  cipher: { name: string; nonce: string }
  ciphertext: string
}

/** Thrown for a wrong password: the secretbox does not open. Other shapes are `Error`s with what is wrong. */
export class WrongPassword extends Error {}

/** The PKCS#8 DER sealed in a cosign key file's JSON. */
export function openCosignKey(json: Uint8Array, password: string): Buffer {
  let sealed: SealedKey
  try {
    sealed = JSON.parse(Buffer.from(json).toString('utf8')) as SealedKey
  } catch {
    throw new Error('the encrypted key is not the JSON cosign writes')
  }
  if (sealed?.kdf?.name !== 'scrypt' || sealed.cipher?.name !== 'nacl/secretbox')
    throw new Error(`unknown key encryption (\`${String(sealed?.kdf?.name)}\` + \`${String(sealed?.cipher?.name)}\`)`)
  const { N, r, p } = sealed.kdf.params
  if (![N, r, p].every((n) => Number.isSafeInteger(n) && n > 0) || N > 1 << 22) throw new Error('scrypt parameters out of range')
  // scrypt takes 128·N·r bytes; Node refuses past `maxmem` (32 MiB by default, cosign's N=32768 needs exactly that).
  const key = scryptSync(password, Buffer.from(sealed.kdf.salt, 'base64'), 32, { N, r, p, maxmem: 256 * N * r })
  try {
    return Buffer.from(secretbox(key, Buffer.from(sealed.cipher.nonce, 'base64')).open(Buffer.from(sealed.ciphertext, 'base64')))
  } catch {
    throw new WrongPassword('the password does not open the key')
  }
}

/**
 * `der` (PKCS#8) sealed as cosign seals it, with cosign's default scrypt cost (N=32768, r=8, p=1):
 * the JSON for a PEM block of type `ENCRYPTED SIGSTORE PRIVATE KEY`.
 */
export function sealCosignKey(der: Uint8Array, password: string, cost = { N: 32768, r: 8, p: 1 }): Buffer {
  const salt = randomBytes(32)
  const nonce = randomBytes(24)
  const key = scryptSync(password, salt, 32, { ...cost, maxmem: 256 * cost.N * cost.r })
  const sealed: SealedKey = {
    kdf: { name: 'scrypt', params: cost, salt: salt.toString('base64') },
    cipher: { name: 'nacl/secretbox', nonce: nonce.toString('base64') },
    ciphertext: Buffer.from(secretbox(key, nonce).seal(der)).toString('base64'),
  }
  return Buffer.from(JSON.stringify(sealed))
}

/** A PEM block of `type` around `bytes`, 64 columns as Go's encoding/pem writes it. */
export function pemBlock(type: string, bytes: Uint8Array): string {
  const b64 = Buffer.from(bytes).toString('base64')
  return `-----BEGIN ${type}-----\n${(b64.match(/.{1,64}/g) ?? []).join('\n')}\n-----END ${type}-----\n`
}

/** The first PEM block of the text: its type and bytes; undefined when there is none. */
export function readPemBlock(text: string): { type: string; bytes: Buffer } | undefined {
  const m = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/.exec(text)
  return m ? { type: m[1]!, bytes: Buffer.from(m[2]!.replace(/^[A-Za-z-]+:.*$/gm, '').replace(/\s+/g, ''), 'base64') } : undefined
}
