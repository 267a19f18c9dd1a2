// Everything a run attaches to its image, made once the image digest is known and before any sink
// commits (so a key that cannot sign fails the run with every sink as it was): the SBOM, the
// provenance (in a DSSE envelope signed with the key, or in a Sigstore bundle when keyless), and
// the image signature (cosign's `.sig` tag with a key, a Sigstore bundle referrer keyless).
// `repository` is the name signatures give the image (cosign's `docker-reference`).
import type { Attachment } from '../contract/attachment.js'
import type { AttachOptions } from '../recipe/recipe-schema.js'
import { cosignSignatureLayer, signatureTag } from '../sign/cosign-signature.js'
import { DSSE_MEDIA_TYPE, signEnvelope } from '../sign/dsse.js'
import { SIGSTORE_BUNDLE_MEDIA_TYPE, type KeylessSigner } from '../sign/keyless.js'
import type { SigningKey } from '../sign/signing-key.js'
import { digestHex } from '../oci/digest.js'
import { Annotation } from '../oci/media-types.js'
import { cycloneDxSbom, CYCLONEDX_MEDIA_TYPE } from './cyclonedx-sbom.js'
import { referrerAttachment } from './referrer-manifest.js'
import type { RunFacts } from './run-facts.js'
import { IN_TOTO_MEDIA_TYPE, IN_TOTO_STATEMENT, SLSA_PROVENANCE, slsaProvenance } from './slsa-provenance.js'

export type Signer = { kind: 'key'; key: SigningKey } | { kind: 'keyless'; signer: KeylessSigner }

/** The predicate cosign (v3) signs an image with when it writes a Sigstore bundle. */
export const COSIGN_SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1'

export const SigstoreAnnotation = {
  content: 'dev.sigstore.bundle.content',
  predicateType: 'dev.sigstore.bundle.predicateType',
} as const

export async function buildAttachments(job: {
  facts: RunFacts
  attach: AttachOptions | undefined
  signer: Signer | undefined
  repository: string
}): Promise<Attachment[]> {
  const { facts, signer, repository } = job
  const subject = facts.image
  const created: Record<string, string> = facts.created ? { [Annotation.created]: facts.created } : {}
  const out: Attachment[] = []
  if (job.attach?.sbom === 'cyclonedx') {
    const sbom = cycloneDxSbom(facts)
    out.push(
      referrerAttachment({
        what: 'sbom',
        artifactType: CYCLONEDX_MEDIA_TYPE,
        subject,
        layer: { mediaType: CYCLONEDX_MEDIA_TYPE, bytes: sbom },
        content: sbom,
        annotations: created,
      }),
    )
  }
  if (job.attach?.provenance) {
    const statement = slsaProvenance(facts, repository)
    out.push(
      await signedStatement({ what: 'provenance', statement, predicateType: SLSA_PROVENANCE, subject, signer, annotations: created }),
    )
  }
  if (signer?.kind === 'key') {
    out.push({
      kind: 'signature-tag',
      what: 'signature',
      subject,
      tag: signatureTag(subject.digest),
      layer: cosignSignatureLayer(signer.key, repository, subject.digest),
    })
  } else if (signer?.kind === 'keyless') {
    const statement = Buffer.from(
      JSON.stringify({
        _type: IN_TOTO_STATEMENT,
        subject: [{ name: repository, digest: { sha256: digestHex(subject.digest) } }],
        predicateType: COSIGN_SIGN_PREDICATE,
        predicate: {},
      }),
    )
    out.push(
      await signedStatement({ what: 'signature', statement, predicateType: COSIGN_SIGN_PREDICATE, subject, signer, annotations: created }),
    )
  }
  return out
}

/** An in-toto statement as a referrer: plain, in a DSSE envelope signed with the key, or in a Sigstore bundle. */
async function signedStatement(s: {
  what: string
  statement: Uint8Array
  predicateType: string
  subject: RunFacts['image']
  signer: Signer | undefined
  annotations: Record<string, string>
}): Promise<Attachment> {
  const base = { what: s.what, subject: s.subject, content: s.statement }
  if (!s.signer)
    return referrerAttachment({
      ...base,
      artifactType: IN_TOTO_MEDIA_TYPE,
      layer: { mediaType: IN_TOTO_MEDIA_TYPE, bytes: s.statement },
      annotations: s.annotations,
    })
  if (s.signer.kind === 'key') {
    const envelope = Buffer.from(JSON.stringify(signEnvelope(IN_TOTO_MEDIA_TYPE, s.statement, s.signer.key)))
    return referrerAttachment({
      ...base,
      artifactType: IN_TOTO_MEDIA_TYPE,
      layer: { mediaType: DSSE_MEDIA_TYPE, bytes: envelope, annotations: { 'in-toto.io/predicate-type': s.predicateType } },
      signer: s.signer.key.keyId,
      annotations: s.annotations,
    })
  }
  const bundle = Buffer.from(JSON.stringify(await s.signer.signer.sign(s.statement, IN_TOTO_MEDIA_TYPE)))
  // A keyless image signature is a bundle referrer (cosign v3); keyless provenance keeps the in-toto type, its layer the bundle.
  const artifactType = s.what === 'signature' ? SIGSTORE_BUNDLE_MEDIA_TYPE : IN_TOTO_MEDIA_TYPE
  return referrerAttachment({
    ...base,
    artifactType,
    layer: { mediaType: SIGSTORE_BUNDLE_MEDIA_TYPE, bytes: bundle },
    signer: s.signer.signer.identity,
    annotations: { ...s.annotations, [SigstoreAnnotation.content]: 'dsse-envelope', [SigstoreAnnotation.predicateType]: s.predicateType },
  })
}
