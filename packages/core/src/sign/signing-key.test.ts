import { generateKeyPairSync, verify } from 'node:crypto'
import { mkdtemp, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { isModelcarError } from '../errors/modelcar-error.js'
import { openCosignKey, pemBlock, readPemBlock, sealCosignKey, WrongPassword } from './cosign-key-file.js'
import { loadSigningKey, loadVerifyingKey } from './signing-key.js'

const PASSWORD = 'correct horse 4417'
const CHEAP = { N: 1024, r: 8, p: 1 }

async function dir(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), 'signing-key-'))
}

/** What loading `text` as a key throws (code, message, hint) — or nothing. */
async function failure(text: string, env: Record<string, string> = {}): Promise<{ code: string; text: string } | undefined> {
  const d = await dir()
  await writeFile(path.join(d, 'k'), text)
  try {
    await loadSigningKey('./k', { baseDir: d, env })
    return undefined
  } catch (err) {
    if (!isModelcarError(err)) throw err
    return { code: err.code, text: `${err.message} ${err.hint ?? ''}` }
  }
}

describe('cosign key files', () => {
  it('seal and open: the PKCS#8 bytes come back with the password, not without it', () => {
    const der = Buffer.from('pkcs8 bytes of a key')
    const sealed = sealCosignKey(der, PASSWORD, CHEAP)
    const json = JSON.parse(sealed.toString('utf8')) as {
      kdf: { name: string; params: object; salt: string }
      cipher: { name: string; nonce: string }
    }
    expect(json.kdf).toMatchObject({ name: 'scrypt', params: CHEAP })
    expect(Buffer.from(json.kdf.salt, 'base64')).toHaveLength(32)
    expect(json.cipher.name).toBe('nacl/secretbox')
    expect(Buffer.from(json.cipher.nonce, 'base64')).toHaveLength(24)
    expect(openCosignKey(sealed, PASSWORD)).toEqual(der)
    expect(() => openCosignKey(sealed, 'wrong')).toThrow(WrongPassword)
  })

  it('default cost is cosign’s (N=32768, r=8, p=1), which Node’s scrypt takes only with room to spare', () => {
    const sealed = sealCosignKey(Buffer.from('k'), '')
    expect((JSON.parse(sealed.toString('utf8')) as { kdf: { params: object } }).kdf.params).toEqual({ N: 32768, r: 8, p: 1 })
    expect(openCosignKey(sealed, '')).toEqual(Buffer.from('k'))
  })

  it('PEM blocks are read back whatever the line ending', () => {
    const pem = pemBlock('ENCRYPTED SIGSTORE PRIVATE KEY', Buffer.alloc(100, 7))
    expect(readPemBlock(pem.replaceAll('\n', '\r\n'))).toEqual({ type: 'ENCRYPTED SIGSTORE PRIVATE KEY', bytes: Buffer.alloc(100, 7) })
  })
})

describe('loadSigningKey', () => {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const pkcs8 = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()

  it('signs with a PKCS#8, SEC1, encrypted PKCS#8 or cosign key; the signature verifies with the public key', async () => {
    const d = await dir()
    const der = pair.privateKey.export({ type: 'pkcs8', format: 'der' })
    const files = {
      pkcs8,
      sec1: pair.privateKey.export({ type: 'sec1', format: 'pem' }).toString(),
      encrypted: pair.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: PASSWORD }).toString(),
      cosign: pemBlock('ENCRYPTED SIGSTORE PRIVATE KEY', sealCosignKey(der, PASSWORD, CHEAP)),
      legacy: pemBlock('ENCRYPTED COSIGN PRIVATE KEY', sealCosignKey(der, PASSWORD, CHEAP)),
    }
    for (const [name, text] of Object.entries(files)) {
      await writeFile(path.join(d, name), text)
      const key = await loadSigningKey(`./${name}`, { baseDir: d, env: { COSIGN_PASSWORD: PASSWORD } })
      expect(verify('sha256', Buffer.from('payload'), pair.publicKey, key.sign(Buffer.from('payload'))), name).toBe(true)
      expect(key.publicKeyPem).toBe(pair.publicKey.export({ type: 'spki', format: 'pem' }).toString())
    }
    const fromEnv = await loadSigningKey('env://MY_KEY', { baseDir: d, env: { MY_KEY: pkcs8 } })
    expect(fromEnv.keyId).toMatch(/^sha256:[0-9a-f]{64}$/)
    await writeFile(path.join(d, 'key.pub'), fromEnv.publicKeyPem)
    const pub = await loadVerifyingKey(path.join(d, 'key.pub'))
    expect(pub.keyId).toBe(fromEnv.keyId)
    expect(pub.verify(Buffer.from('x'), fromEnv.sign(Buffer.from('x')))).toBe(true)
    expect(pub.verify(Buffer.from('y'), fromEnv.sign(Buffer.from('x')))).toBe(false)
  })

  it('says what is wrong with a key, never quoting it or the password', async () => {
    const der = pair.privateKey.export({ type: 'pkcs8', format: 'der' })
    const cosign = pemBlock('ENCRYPTED SIGSTORE PRIVATE KEY', sealCosignKey(der, PASSWORD, CHEAP))
    const cases: [string, Record<string, string>, RegExp][] = [
      [cosign, {}, /is an encrypted cosign key.*set COSIGN_PASSWORD/],
      [cosign, { COSIGN_PASSWORD: 'nope-3391' }, /COSIGN_PASSWORD does not open it/],
      [pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(), {}, /is a public key/],
      ['not a key at all', {}, /holds no PEM block/],
      [
        generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        {},
        /an? ed25519 key; modelcar signs with ECDSA P-256/,
      ],
      [
        generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        {},
        /ECDSA secp384r1 key/,
      ],
    ]
    for (const [text, env, says] of cases) {
      const f = await failure(text, env)
      expect(f?.code).toBe('SIGN_KEY_INVALID')
      expect(f?.text).toMatch(says)
      expect(f?.text).not.toContain('nope-3391')
      expect(f?.text).not.toContain(PASSWORD)
      expect(f?.text).not.toContain(pkcs8.split('\n')[1]!)
    }
    await expect(loadSigningKey('env://UNSET', { baseDir: '/', env: {} })).rejects.toThrow(/`UNSET` is not set/)
  })
})
