// Fulcio and Rekor for the keyless tests: @sigstore/mock's handlers (a real CA issuing real
// certificates with a CT log, a real transparency log with signed entry timestamps) behind one
// HTTP server on the loopback, so the CLI, a child process, reaches them as it would the public
// instance. The trusted root names their keys, for @sigstore/verify and `modelcar verify`.
import { createHash, generateKeyPairSync } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fulcioHandler, initializeCA, initializeCTLog, initializeTLog, rekorHandler } from '@sigstore/mock'

export interface SigstoreServices {
  url: string
  /** The trusted root (protobuf-specs JSON) of these services. */
  trustedRoot: Record<string, unknown>
  /** Requests served, as `METHOD path`. */
  requests: string[]
  stop(): Promise<void>
}

export async function startSigstoreServices(): Promise<SigstoreServices> {
  const keyPair = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  const ctlog = await initializeCTLog(keyPair())
  const ca = await initializeCA(keyPair(), ctlog)
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const tlog = await initializeTLog(url, keyPair())
  const handlers = [fulcioHandler(ca), rekorHandler(tlog)]
  const requests: string[] = []
  server.on('request', (req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      requests.push(`${req.method} ${req.url}`)
      const handler = req.method === 'POST' ? handlers.find((h) => h.path === req.url) : undefined
      if (!handler) {
        res.writeHead(404).end()
        return
      }
      handler
        .fn(Buffer.concat(chunks).toString('utf8'))
        .then((out) => res.writeHead(out.statusCode, { 'content-type': out.contentType ?? 'text/plain' }).end(out.response))
        .catch((err: Error) => res.writeHead(500).end(err.message))
    })
  })
  const since = { start: '2000-01-01T00:00:00Z' }
  const key = (raw: Buffer) => ({ rawBytes: raw.toString('base64'), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: since })
  const trustedRoot = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [
      {
        baseUrl: url,
        hashAlgorithm: 'SHA2_256',
        publicKey: key(tlog.publicKey),
        logId: { keyId: createHash('sha256').update(tlog.publicKey).digest('base64') },
      },
    ],
    certificateAuthorities: [
      {
        subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
        uri: url,
        certChain: { certificates: [{ rawBytes: Buffer.from(ca.rootCertificate.buffer).toString('base64') }] },
        validFor: since,
      },
    ],
    ctlogs: [
      {
        baseUrl: url,
        hashAlgorithm: 'SHA2_256',
        publicKey: key(ctlog.publicKey),
        logId: { keyId: Buffer.from(ctlog.logID.buffer).toString('base64') },
      },
    ],
    timestampAuthorities: [],
  }
  return {
    url,
    trustedRoot,
    requests,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

/** An OIDC identity token as a CI would hand it over (Fulcio checks the claims; the mock does not check the signature). */
export function identityToken(claims: { iss: string; email: string }): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
  const now = Math.floor(Date.now() / 1000)
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part({ ...claims, sub: claims.email, email_verified: true, aud: 'sigstore', iat: now, exp: now + 600 })}.${Buffer.from('signature-of-the-issuer').toString('base64url')}`
}
