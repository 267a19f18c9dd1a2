// The SBOM: a CycloneDX 1.6 ML-BOM of the image. The model is the `machine-learning-model`
// component the BOM describes, every file a `file` component with its SHA-256 and where it came
// from, the base image a `container` component; the model depends on both. Same run facts, same
// bytes (the serial number is derived from the image digest, the time only from SOURCE_DATE_EPOCH).
import { createHash } from 'node:crypto'
import { digestHex } from '../oci/digest.js'
import { modelName, type RunFacts } from './run-facts.js'

export const CYCLONEDX_MEDIA_TYPE = 'application/vnd.cyclonedx+json'

type License = { license: { id: string } } | { expression: string }

export function cycloneDxSbom(f: RunFacts): Uint8Array {
  const files = f.files.map((file) => ({
    type: 'file',
    'bom-ref': `file:${file.target}`,
    name: file.target,
    hashes: [{ alg: 'SHA-256', content: digestHex(file.digest) }],
    ...(file.origin ? { externalReferences: [{ type: 'distribution', url: file.origin }] } : {}),
    properties: [
      { name: 'modelcar:path', value: `/${f.prefix}/${file.target}` },
      { name: 'modelcar:size', value: String(file.size) },
    ],
  }))
  const base = f.base && {
    type: 'container',
    'bom-ref': 'base',
    name: f.base.reference ?? f.base.name,
    version: f.base.digest,
    ...(f.base.reference ? { purl: ociPurl(f.base.reference, f.base.digest) } : {}),
    hashes: [{ alg: 'SHA-256', content: digestHex(f.base.digest) }],
  }
  const a = f.annotations
  const source = a['org.opencontainers.image.source']
  const model = {
    type: 'machine-learning-model',
    'bom-ref': 'model',
    name: modelName(a),
    ...(a['org.opencontainers.image.revision'] ? { version: a['org.opencontainers.image.revision'] } : {}),
    ...(f.licenses.length ? { licenses: licensesOf(f.licenses) } : {}),
    ...(source ? { externalReferences: [{ type: 'distribution', url: source }] } : {}),
    properties: [{ name: 'modelcar:image.digest', value: f.image.digest }],
  }
  const bom = {
    $schema: 'http://cyclonedx.org/schema/bom-1.6.schema.json',
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber: `urn:uuid:${uuidOf(`cyclonedx:${f.image.digest}`)}`,
    version: 1,
    metadata: {
      ...(f.created ? { timestamp: f.created } : {}),
      tools: { components: [{ type: 'application', name: 'modelcar', version: f.builder.version }] },
      component: model,
    },
    components: [...files, ...(base ? [base] : [])],
    dependencies: [{ ref: 'model', dependsOn: [...files.map((c) => c['bom-ref']), ...(base ? ['base'] : [])] }],
  }
  return Buffer.from(JSON.stringify(bom, null, 2))
}

/** SPDX identifiers as `license.id`; anything else (a compound, a LicenseRef-) as one expression. */
function licensesOf(licenses: string[]): License[] {
  const simple = licenses.every((l) => /^[A-Za-z0-9.+-]+$/.test(l) && !l.startsWith('LicenseRef-'))
  if (simple) return licenses.map((id) => ({ license: { id } }))
  return [{ expression: licenses.map((l) => (licenses.length > 1 && /\s/.test(l) ? `(${l})` : l)).join(' AND ') }]
}

/** The package URL of an OCI image: `pkg:oci/busybox@sha256%3A…?repository_url=quay.io/org/busybox&tag=1.36`. */
function ociPurl(reference: string, digest: string): string {
  const at = reference.indexOf('@')
  const named = at < 0 ? reference : reference.slice(0, at)
  const colon = named.lastIndexOf(':')
  const hasTag = colon > named.lastIndexOf('/')
  const repository = hasTag ? named.slice(0, colon) : named
  const name = repository.split('/').pop()!
  const tag = hasTag ? `&tag=${encodeURIComponent(named.slice(colon + 1))}` : ''
  return `pkg:oci/${name}@${encodeURIComponent(digest)}?repository_url=${encodeURIComponent(repository).replaceAll('%2F', '/')}${tag}`
}

/** A UUID (version 5 layout) from a name, so the same image gets the same serial number. */
export function uuidOf(name: string): string {
  const b = createHash('sha256').update(name).digest().subarray(0, 16)
  b[6] = (b[6]! & 0x0f) | 0x50
  b[8] = (b[8]! & 0x3f) | 0x80
  const h = b.toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}
