// `modelcar verify REF --key PUB` (or keyless: `--certificate-identity`, `--certificate-oidc-issuer`):
// checks an image's signature against its digest, and lists what is attached to it (SBOM,
// provenance, signatures), each checked where it can be. Exit 0: a signature verifies and nothing
// attached contradicts it; 1: something does not match (said plainly); 2: the arguments are wrong.
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { loadVerifyingKey, verifyImage, type VerifyOptions, type VerifyReport } from '@modelcar/core'
import { defineCommand, type CommandIO } from '../command-line/define-command.js'
import { openAttachedImage } from './attached-image.js'
import type { Output } from '../command-line/output.js'

const USAGE =
  'verify oci-layout:PATH[:TAG] | PATH[:TAG] | registry:HOST/REPO[:TAG|@DIGEST] (--key PUB | --certificate-identity ID --certificate-oidc-issuer URL [--trusted-root FILE]) [--json]'

export const verifyCommand = defineCommand({
  name: 'verify',
  usage: USAGE,
  summary: 'check the signature of an image against its digest and list its attachments (SBOM, provenance)',
  options: {
    key: { type: 'string' },
    'certificate-identity': { type: 'string' },
    'certificate-oidc-issuer': { type: 'string' },
    'trusted-root': { type: 'string' },
    json: { type: 'boolean' },
  },
  async run({ positionals, values }, io) {
    const [target] = positionals
    if (!target || positionals.length > 1) throw io.usageError('give one image to verify')
    const options = await verifyOptions(values, io)
    const image = await openAttachedImage(target, 'verify', io.output, io.env)
    const report = await verifyImage(image, options)
    if (io.output.json) io.output.event(report)
    else print(io.output, report)
  },
})

interface VerifyValues {
  key?: string | undefined
  'certificate-identity'?: string | undefined
  'certificate-oidc-issuer'?: string | undefined
  'trusted-root'?: string | undefined
}

/** A key, or a keyless policy: one of the two, whole. */
async function verifyOptions(v: VerifyValues, io: CommandIO): Promise<VerifyOptions> {
  const identity = v['certificate-identity']
  const issuer = v['certificate-oidc-issuer']
  const keyless = identity !== undefined || issuer !== undefined || v['trusted-root'] !== undefined
  if (v.key !== undefined && keyless) throw io.usageError('give `--key` or the keyless flags, not both')
  if (v.key !== undefined) return { key: await loadVerifyingKey(path.resolve(v.key)) }
  if (!keyless)
    throw io.usageError('say what a valid signature is: `--key cosign.pub`, or `--certificate-identity` and `--certificate-oidc-issuer`')
  if (!identity || !issuer) throw io.usageError('keyless verification needs both `--certificate-identity` and `--certificate-oidc-issuer`')
  return { keyless: { identity, issuer, trustedRoot: await trustedRoot(v['trusted-root'], io) } }
}

/** The trusted root given; undefined: the public Sigstore instance's (core fetches it from its TUF repository). */
async function trustedRoot(file: string | undefined, io: CommandIO): Promise<unknown> {
  if (file === undefined) return undefined
  try {
    return JSON.parse(await readFile(path.resolve(file), 'utf8')) as unknown
  } catch (err) {
    throw io.usageError(
      `the trusted root \`${file}\` cannot be read as JSON (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    )
  }
}

function print(out: Output, r: VerifyReport): void {
  out.print(`${r.image}`)
  out.print(`  digest  ${r.digest}`)
  for (const a of r.attachments)
    out.print(
      `  ${a.what.padEnd(11)} ${a.status.padEnd(12)} ${a.where === 'referrer' ? `referrer ${a.digest}` : `${a.where} (${a.digest.slice(0, 19)}…)`}${a.signer ? `  signed by ${a.signer}` : ''}`,
    )
  out.print('verified: a signature names this digest, and nothing attached contradicts it')
}
