// `modelcar verify`: an image's signatures checked against its digest, and what is attached to
// it listed and checked where it can be. With a key: cosign's signatures at `sha256-<hex>.sig`
// (the signature over the payload, the payload naming this very digest) and DSSE-signed
// statements. Keyless: Sigstore bundles, verified with @sigstore/verify against a trusted root
// for a certificate identity and issuer, their statement naming this digest. Any attachment that
// does not match fails the whole check, with what did not match.
import type { AttachedImage } from '../contract/attachment.js'
import { digestHex } from '../oci/digest.js'
import type { Descriptor, ImageManifest } from '../oci/types.js'
import { CosignAnnotation, CosignMediaType, readSimpleSigning, signatureTag } from './cosign-signature.js'
import { DSSE_MEDIA_TYPE, envelopeVerifies, type DsseEnvelope } from './dsse.js'
import { SIGSTORE_BUNDLE_MEDIA_TYPE } from './keyless.js'
import { signErrors } from './sign-errors.js'
import type { VerifyingKey } from './signing-key.js'

export interface KeylessPolicy {
  /** The certificate's subject alternative name (an email, a workflow URI). */
  identity: string
  /** The OIDC issuer the certificate names. */
  issuer: string
  /** The Sigstore trusted root (JSON, as `cosign trusted-root create` or TUF give it); undefined: the public instance's, from its TUF repository. */
  trustedRoot?: unknown
}

export interface VerifyOptions {
  key?: VerifyingKey
  keyless?: KeylessPolicy
}

export interface CheckedAttachment {
  /** `signature`, `sbom`, `provenance`, or the artifact type when modelcar does not know it. */
  what: string
  where: string
  digest: string
  artifactType?: string
  /** `verified`: the signature checks out and names this image; `unsigned`: it names this image; `not checked`: not for the given key or identity. */
  status: 'verified' | 'unsigned' | 'not checked'
  signer?: string
}

export interface VerifyReport {
  type: 'verify'
  image: string
  digest: string
  attachments: CheckedAttachment[]
}

export async function verifyImage(img: AttachedImage, o: VerifyOptions): Promise<VerifyReport> {
  const digest = img.root.digest
  const attachments: CheckedAttachment[] = []
  const problems: string[] = []
  const sigTag = signatureTag(digest)
  const tagged = await img.manifest(sigTag)
  if (tagged) attachments.push(...(await checkCosign(img, tagged.bytes, sigTag, o, problems)))
  const checkBundle = o.keyless ? await bundleChecker(o.keyless) : undefined
  for (const ref of await img.referrers(digest)) attachments.push(await checkReferrer(img, ref, o, checkBundle, problems))
  const signed = attachments.some((a) => a.what === 'signature' && a.status === 'verified')
  if (problems.length) throw signErrors.verifyFailed(`${img.name} (${digest}) does not verify:\n  ${problems.join('\n  ')}`, hintFor(o))
  if (!signed) {
    const how = o.key ? `with the key \`${o.key.source}\`` : `for \`${o.keyless?.identity}\` from \`${o.keyless?.issuer}\``
    const found = attachments.filter((a) => a.what === 'signature').length
    throw signErrors.verifyFailed(
      `${img.name} (${digest}) has no signature ${how}${found ? ` (${found} signature${found === 1 ? '' : 's'} there that do${found === 1 ? 'es' : ''} not verify with it: another signer's, or altered)` : ` (nothing at \`${sigTag}\`, no Sigstore bundle among its referrers)`}`,
      hintFor(o),
    )
  }
  return { type: 'verify', image: img.name, digest, attachments }
}

/** What a Sigstore bundle says once verified for the policy's identity: its DSSE payload and who signed it. */
type BundleChecker = (json: unknown) => { payload: Uint8Array; identity: string | undefined }

/**
 * A checker of Sigstore bundles against the policy's trusted root. Sigstore's libraries are loaded
 * here, for keyless checks only: loaded with the rest of core they were half of every command's
 * start-up.
 */
async function bundleChecker(policy: KeylessPolicy): Promise<BundleChecker> {
  const [{ bundleFromJSON }, { TrustedRoot }, { toSignedEntity, toTrustMaterial, Verifier }] = await Promise.all([
    import('@sigstore/bundle'),
    import('@sigstore/protobuf-specs'),
    import('@sigstore/verify'),
  ])
  const verifier = new Verifier(toTrustMaterial(TrustedRoot.fromJSON(policy.trustedRoot ?? (await publicTrustedRoot()))))
  return (json) => {
    const bundle = bundleFromJSON(json)
    const signer = verifier.verify(toSignedEntity(bundle), {
      subjectAlternativeName: policy.identity,
      extensions: { issuer: policy.issuer },
    })
    const payload = bundle.content.$case === 'dsseEnvelope' ? bundle.content.dsseEnvelope.payload : Buffer.alloc(0)
    return { payload, identity: signer.identity?.subjectAlternativeName }
  }
}

/** The public Sigstore instance's trusted root, from its TUF repository (network). */
async function publicTrustedRoot(): Promise<unknown> {
  const { getTrustedRoot } = await import('@sigstore/tuf')
  return getTrustedRoot()
}

function hintFor(o: VerifyOptions): string {
  return o.key
    ? 'an image signed with this key carries a signature that names its digest; sign it again (`sign.key` in the recipe), or check that this is the key it was signed with'
    : 'check `--certificate-identity` and `--certificate-oidc-issuer` against the certificate, and that the trusted root is the one of the Sigstore instance that signed'
}

/** The layers of cosign's signature manifest: each checked against the key and this digest. */
async function checkCosign(
  img: AttachedImage,
  bytes: Uint8Array,
  tag: string,
  o: VerifyOptions,
  problems: string[],
): Promise<CheckedAttachment[]> {
  const manifest = JSON.parse(Buffer.from(bytes).toString('utf8')) as ImageManifest
  const out: CheckedAttachment[] = []
  for (const layer of manifest.layers ?? []) {
    if (layer.mediaType !== CosignMediaType.simpleSigning) continue
    const entry: CheckedAttachment = { what: 'signature', where: `tag ${tag}`, digest: layer.digest, status: 'not checked' }
    out.push(entry)
    if (!o.key) continue
    const payload = await img.blob(layer)
    const signature = Buffer.from(layer.annotations?.[CosignAnnotation.signature] ?? '', 'base64')
    if (!o.key.verify(payload, signature)) {
      // Another signer's signature is no failure of this one; a tampered one shows as no valid signature at all.
      continue
    }
    const said = readSimpleSigning(payload)
    if ('problem' in said) problems.push(`the signature ${layer.digest.slice(0, 19)}… at \`${tag}\` verifies, but ${said.problem}`)
    else if (said.digest !== img.root.digest)
      problems.push(`the signature at \`${tag}\` is another image's: it names \`${said.digest}\`, this image is \`${img.root.digest}\``)
    else Object.assign(entry, { status: 'verified', signer: o.key.source })
  }
  return out
}

/** A referrer: its kind from its artifact type; a signed statement checked against the key or the identity. */
async function checkReferrer(
  img: AttachedImage,
  ref: Descriptor,
  o: VerifyOptions,
  checkBundle: BundleChecker | undefined,
  problems: string[],
): Promise<CheckedAttachment> {
  const doc = await img.manifest(ref.digest)
  const manifest = doc ? (JSON.parse(Buffer.from(doc.bytes).toString('utf8')) as ImageManifest) : undefined
  const artifactType = ref.artifactType ?? manifest?.artifactType ?? manifest?.config?.mediaType ?? ''
  const entry: CheckedAttachment = {
    what: whatOf(artifactType),
    where: 'referrer',
    digest: ref.digest,
    artifactType,
    status: 'not checked',
  }
  const layer = manifest?.layers?.[0]
  if (!manifest || !layer) {
    problems.push(`the referrer ${ref.digest} cannot be read`)
    return entry
  }
  if (manifest.subject?.digest !== img.root.digest)
    problems.push(`the referrer ${ref.digest} names another subject (\`${manifest.subject?.digest}\`)`)
  const bytes = await img.blob(layer)
  const statementOf = (payload: Uint8Array, how: string) => {
    const named = statementSubjects(payload)
    if (!named.includes(digestHex(img.root.digest)))
      problems.push(
        `the ${entry.what} ${ref.digest.slice(0, 19)}… (${how}) is about another image: its subject is ${named.map((n) => `sha256:${n}`).join(', ') || 'missing'}`,
      )
    return named.includes(digestHex(img.root.digest))
  }
  const claimedSigner = manifest.annotations?.[CosignAnnotation.signer]
  if (layer.mediaType === DSSE_MEDIA_TYPE) {
    const envelope = JSON.parse(Buffer.from(bytes).toString('utf8')) as DsseEnvelope
    if (!o.key) return entry
    if (!envelopeVerifies(envelope, o.key)) {
      // Signed by another key (another tool's attestation) is not this key's business; claiming this key and failing is tampering.
      if (claimedSigner === o.key.keyId)
        problems.push(
          `the ${entry.what} ${ref.digest.slice(0, 19)}… says it is signed with \`${o.key.source}\`, and its DSSE signature does not verify with it`,
        )
      return entry
    }
    if (statementOf(Buffer.from(envelope.payload, 'base64'), 'signed')) Object.assign(entry, { status: 'verified', signer: o.key.source })
    return entry
  }
  if (layer.mediaType === SIGSTORE_BUNDLE_MEDIA_TYPE) {
    if (!checkBundle || !o.keyless) return entry
    try {
      const { payload, identity } = checkBundle(JSON.parse(Buffer.from(bytes).toString('utf8')))
      if (statementOf(payload, 'keyless')) Object.assign(entry, { status: 'verified', signer: identity ?? o.keyless.identity })
    } catch (err) {
      // Another identity's bundle is not this policy's business; one that claims this identity and fails is.
      if (claimedSigner === undefined || claimedSigner === `${o.keyless.identity}@${o.keyless.issuer}`)
        problems.push(`the ${entry.what} ${ref.digest.slice(0, 19)}… (Sigstore bundle) does not verify: ${(err as Error).message}`)
    }
    return entry
  }
  // An unsigned document (an SBOM, unsigned provenance): its subject is checked above; a statement's own subject too.
  if (layer.mediaType === 'application/vnd.in-toto+json') statementOf(bytes, 'unsigned')
  entry.status = 'unsigned'
  return entry
}

/** The sha256 digests an in-toto statement's subjects name. */
function statementSubjects(payload: Uint8Array): string[] {
  try {
    const s = JSON.parse(Buffer.from(payload).toString('utf8')) as { subject?: { digest?: { sha256?: string } }[] }
    return (s.subject ?? []).map((x) => x.digest?.sha256 ?? '').filter(Boolean)
  } catch {
    return []
  }
}

function whatOf(artifactType: string): string {
  if (artifactType === SIGSTORE_BUNDLE_MEDIA_TYPE) return 'signature'
  if (artifactType === 'application/vnd.in-toto+json') return 'provenance'
  if (artifactType.includes('cyclonedx') || artifactType.includes('spdx')) return 'sbom'
  return artifactType || 'artifact'
}
