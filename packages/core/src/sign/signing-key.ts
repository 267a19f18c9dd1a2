// The key a recipe signs with (`sign.key`): a PKCS#8 or SEC1 PEM file, a password-protected PKCS#8
// PEM, or a cosign key file, its password in COSIGN_PASSWORD as cosign reads it; `env://NAME` for
// the PEM in an environment variable (a CI secret). ECDSA P-256, signed over SHA-256, as cosign
// signs by default. The key material stays in a KeyObject: no message says anything of it but
// where it came from.
import { createHash, createPrivateKey, createPublicKey, sign as signBytes, verify as verifyBytes, type KeyObject } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { COSIGN_PEM_TYPES, openCosignKey, readPemBlock, WrongPassword } from './cosign-key-file.js'
import { signErrors } from './sign-errors.js'

export interface SigningKey {
  /** Where it came from, for messages: `./cosign.key`, `env://COSIGN_PRIVATE_KEY`. */
  readonly source: string
  /** The public key, PEM (SubjectPublicKeyInfo), as `cosign public-key` prints it. */
  readonly publicKeyPem: string
  /** sha256 of the public key's DER: names the signer in annotations (never the key itself). */
  readonly keyId: string
  /** ECDSA P-256 over SHA-256 of `data`, ASN.1 DER, as cosign and openssl write it. */
  sign(data: Uint8Array): Buffer
}

export const PASSWORD_VARIABLE = 'COSIGN_PASSWORD'

/** Reads `ref` (a path relative to `baseDir`, or `env://NAME`) into a key that signs. */
export async function loadSigningKey(
  ref: string,
  o: { baseDir: string; env: Readonly<Record<string, string | undefined>> },
): Promise<SigningKey> {
  const where = `\`${ref}\``
  let text: string
  if (ref.startsWith('env://')) {
    const name = ref.slice('env://'.length)
    const value = o.env[name]
    if (!value) throw signErrors.keyInvalid(where, `the environment variable \`${name}\` is not set`, `set ${name} to the PEM of the key`)
    text = value
  } else {
    try {
      text = await fs.readFile(path.resolve(o.baseDir, ref), 'utf8')
    } catch (err) {
      throw signErrors.keyInvalid(
        where,
        `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
        'give the path of a private key file',
      )
    }
  }
  const key = privateKeyOf(text, where, o.env[PASSWORD_VARIABLE])
  return signingKey(key, ref)
}

/** A signing key from a KeyObject already in hand (tests, callers with their own key store). */
export function signingKey(key: KeyObject, source: string): SigningKey {
  const where = `\`${source}\``
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
    throw signErrors.keyInvalid(
      where,
      `is ${key.asymmetricKeyType === 'ec' ? `an ECDSA ${key.asymmetricKeyDetails?.namedCurve ?? ''} key` : `a${key.asymmetricKeyType === 'rsa' ? 'n' : ''} ${key.asymmetricKeyType ?? 'unknown'} key`}; modelcar signs with ECDSA P-256 (what cosign generates)`,
      'make one with `cosign generate-key-pair` or `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`',
    )
  const publicKey = createPublicKey(key)
  const der = publicKey.export({ type: 'spki', format: 'der' })
  return {
    source,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    keyId: `sha256:${createHash('sha256').update(der).digest('hex')}`,
    sign: (data) => signBytes('sha256', data, key),
  }
}

function privateKeyOf(text: string, where: string, password: string | undefined): KeyObject {
  const block = readPemBlock(text)
  if (!block)
    throw signErrors.keyInvalid(where, 'holds no PEM block', 'give a PEM private key (`-----BEGIN PRIVATE KEY-----`) or a cosign key file')
  if ((COSIGN_PEM_TYPES as readonly string[]).includes(block.type)) {
    if (password === undefined)
      throw signErrors.keyInvalid(where, 'is an encrypted cosign key', `set ${PASSWORD_VARIABLE} to its password (empty if it has none)`)
    try {
      return createPrivateKey({ key: openCosignKey(block.bytes, password), format: 'der', type: 'pkcs8' })
    } catch (err) {
      if (err instanceof WrongPassword)
        throw signErrors.keyInvalid(where, `${PASSWORD_VARIABLE} does not open it`, 'give the password the key was made with')
      throw signErrors.keyInvalid(where, (err as Error).message)
    }
  }
  if (block.type === 'PUBLIC KEY')
    throw signErrors.keyInvalid(where, 'is a public key', 'sign with the private key; `modelcar verify --key` takes the public one')
  if (block.type === 'ENCRYPTED PRIVATE KEY' && password === undefined)
    throw signErrors.keyInvalid(where, 'is encrypted', `set ${PASSWORD_VARIABLE} to its password`)
  try {
    return createPrivateKey({ key: text, format: 'pem', ...(block.type === 'ENCRYPTED PRIVATE KEY' ? { passphrase: password } : {}) })
  } catch {
    // OpenSSL's own words may quote parts of the input: say only what kind of block failed.
    throw signErrors.keyInvalid(
      where,
      `its \`${block.type}\` block cannot be read as a private key${block.type.startsWith('ENCRYPTED') ? ' (wrong password?)' : ''}`,
    )
  }
}

/** A public key (PEM, SubjectPublicKeyInfo) that verifies signatures. */
export interface VerifyingKey {
  readonly source: string
  readonly keyId: string
  verify(data: Uint8Array, signature: Uint8Array): boolean
}

/** Reads a public key PEM file (`cosign.pub`). */
export async function loadVerifyingKey(file: string): Promise<VerifyingKey> {
  let text: string
  try {
    text = await fs.readFile(file, 'utf8')
  } catch (err) {
    throw signErrors.keyInvalid(
      `\`${file}\``,
      `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      'give the public key file (`cosign.pub`)',
    )
  }
  let key: KeyObject
  try {
    key = createPublicKey(text)
  } catch {
    throw signErrors.keyInvalid(`\`${file}\``, 'is not a PEM public key', 'give `cosign.pub` (`-----BEGIN PUBLIC KEY-----`)')
  }
  const der = key.export({ type: 'spki', format: 'der' })
  return {
    source: file,
    keyId: `sha256:${createHash('sha256').update(der).digest('hex')}`,
    verify: (data, signature) => {
      try {
        return verifyBytes('sha256', data, key, signature)
      } catch {
        return false
      }
    },
  }
}
