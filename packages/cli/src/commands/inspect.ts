// `modelcar inspect TARGET`: what an image layout or a registry image holds: platforms, layers, annotations, labels
// and the model card, a CNCF ModelPack manifest beside them (or alone) with its config, and what is
// attached to it (OCI 1.1 referrers, cosign signatures).
import path from 'node:path'
import zlib from 'node:zlib'
import tar from 'tar-stream'
import {
  Annotation,
  configFor,
  formatBytes,
  isIndexMediaType,
  loadLayoutBase,
  signatureTag,
  ModelPackAnnotation,
  ModelPackMediaType,
  splitLayoutRef,
  type BaseImage,
  type Descriptor,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  type AttachedImage,
} from '@modelcar/core'
import { defineCommand } from '../command-line/define-command.js'
import { commandContext, openAttachedImage } from './attached-image.js'
import type { Output } from '../command-line/output.js'
import { officialRegistry } from '../components/official-components.js'

const CARD_LINES = 20

export const inspectCommand = defineCommand({
  name: 'inspect',
  usage: 'inspect oci-layout:PATH[:TAG] | PATH[:TAG] | registry:HOST/REPO[:TAG|@DIGEST] [--json]',
  summary: 'show an image: platforms, layers, annotations, model card, ModelPack manifest and config',
  options: { json: { type: 'boolean' } },
  async run({ positionals }, { output, env, usageError }) {
    const [target] = positionals
    if (!target || positionals.length > 1) throw usageError('give one image to inspect')
    const report = await describe(await loadTarget(target, output, env))
    report.attachments = await attachmentsOf(await openAttachedImage(target, 'inspect', output, env), report.digest)
    if (output.json) output.event(report)
    else print(output, report)
  },
})

/** cosign's signatures at their tag, and the referrers of the image, as they are listed. */
async function attachmentsOf(img: AttachedImage, digest: string): Promise<AttachmentReport[]> {
  const out: AttachmentReport[] = []
  const tag = signatureTag(digest)
  const sig = await img.manifest(tag)
  if (sig) {
    const layers = (JSON.parse(Buffer.from(sig.bytes).toString('utf8')) as ImageManifest).layers ?? []
    out.push({ kind: 'signatures', digest: sig.descriptor.digest, tag, count: layers.length })
  }
  for (const r of await img.referrers(digest))
    out.push({ kind: 'referrer', digest: r.digest, artifactType: r.artifactType ?? '', annotations: r.annotations ?? {} })
  return out
}

/** The image `target` names, read as a recipe's base would be: its documents, blobs on demand. */
async function loadTarget(target: string, output: Output, env: NodeJS.ProcessEnv): Promise<BaseImage> {
  if (target.startsWith('registry:') || target.startsWith('docker://')) {
    const ref = target.replace(/^(registry:|docker:\/\/)/, '')
    const ctx = commandContext('inspect', output, env)
    const registryBase = officialRegistry().get('base', 'registry')!
    return (await registryBase.create(configFor(registryBase, { ref }), ctx)).load({ platforms: [] })
  }
  const { path: p, tag } = splitLayoutRef(target.replace(/^oci-layout:/, ''))
  return loadLayoutBase(path.resolve(p), tag, target)
}

interface ImageReport {
  type: 'image'
  target: string
  digest: string
  mediaType: string
  annotations: Record<string, string>
  platforms: {
    platform: string
    digest: string
    annotations: Record<string, string>
    labels: Record<string, string>
    layers: { digest: string; size: number; mediaType: string; title?: string; modelcard?: boolean }[]
  }[]
  others: { digest: string; mediaType: string; what: string }[]
  modelcard?: { digest: string; text: string }
  modelpack?: ModelPackReport
  /** cosign's signatures and the OCI 1.1 referrers of the image (SBOM, provenance, Sigstore bundles). */
  attachments?: AttachmentReport[]
}

type AttachmentReport =
  | { kind: 'signatures'; digest: string; tag: string; count: number }
  | { kind: 'referrer'; digest: string; artifactType: string; annotations: Record<string, string> }

/** A CNCF ModelPack manifest: where it is, its config as written, its layers with the file each holds. */
interface ModelPackReport {
  digest: string
  /** As its index lists it (`unknown/unknown`); absent when the manifest is the image itself. */
  platform?: string
  config: { digest: string; document: Record<string, unknown> | undefined }
  layers: { digest: string; size: number; mediaType: string; filepath?: string; untested?: boolean }[]
}

async function describe(base: BaseImage): Promise<ImageReport> {
  const root = base.root!
  const doc = <T>(d: Descriptor): T => JSON.parse(Buffer.from(base.documents.get(d.digest)!).toString('utf8')) as T
  const report: ImageReport = {
    type: 'image',
    target: base.name,
    digest: root.digest,
    mediaType: root.mediaType,
    annotations: {},
    platforms: [],
    others: [],
  }
  const visit = (d: Descriptor) => {
    if (!base.documents.has(d.digest)) {
      report.others.push({ digest: d.digest, mediaType: d.mediaType, what: 'not read' })
      return
    }
    if (isIndexMediaType(d.mediaType)) {
      const index = doc<ImageIndex>(d)
      if (d === root) report.annotations = index.annotations ?? {}
      for (const c of index.manifests) visit(c)
      return
    }
    const m = doc<ImageManifest>(d)
    if (d === root) report.annotations = m.annotations ?? {}
    if (!report.modelpack && isModelPack(m)) {
      report.modelpack = modelPackReport(d, m, base)
      return
    }
    const ref = d.annotations?.[Annotation.dockerReferenceType]
    if (ref || m.layers?.[0]?.mediaType === 'application/vnd.in-toto+json' || !base.documents.has(m.config.digest)) {
      report.others.push({ digest: d.digest, mediaType: d.mediaType, what: ref ?? m.artifactType ?? 'artifact' })
      return
    }
    const config = doc<ImageConfig>(m.config)
    const p = d.platform ?? { os: config.os ?? '?', architecture: config.architecture ?? '?', variant: config.variant }
    report.platforms.push({
      platform: [p.os, p.architecture, p.variant].filter(Boolean).join('/'),
      digest: d.digest,
      annotations: m.annotations ?? {},
      labels: config.config?.Labels ?? {},
      layers: m.layers.map((l) => ({
        digest: l.digest,
        size: l.size,
        mediaType: l.mediaType,
        title: l.annotations?.[Annotation.title],
        ...(l.annotations?.[Annotation.odhLayerType] === 'modelcard' ? { modelcard: true } : {}),
      })),
    })
  }
  visit(root)
  const cardDigest = report.platforms.map((p) => p.annotations[Annotation.odhModelcard]).find(Boolean)
  const card = cardDigest && report.platforms.flatMap((p) => p.layers).find((l) => l.digest === cardDigest)
  if (card && base.blobs) report.modelcard = { digest: card.digest, text: await readCard(base, card) }
  return report
}

function isModelPack(m: ImageManifest): boolean {
  return m.artifactType === ModelPackMediaType.manifest || m.config?.mediaType === ModelPackMediaType.config
}

function modelPackReport(d: Descriptor, m: ImageManifest, base: BaseImage): ModelPackReport {
  const configBytes = base.documents.get(m.config.digest)
  return {
    digest: d.digest,
    ...(d.platform ? { platform: [d.platform.os, d.platform.architecture, d.platform.variant].filter(Boolean).join('/') } : {}),
    config: {
      digest: m.config.digest,
      document: configBytes && (JSON.parse(Buffer.from(configBytes).toString('utf8')) as Record<string, unknown>),
    },
    layers: m.layers.map((l) => ({
      digest: l.digest,
      size: l.size,
      mediaType: l.mediaType,
      filepath: l.annotations?.[ModelPackAnnotation.filepath],
      ...(l.annotations?.[ModelPackAnnotation.mediaTypeUntested] === 'true' ? { untested: true } : {}),
    })),
  }
}

async function readCard(base: BaseImage, layer: { digest: string; size: number; mediaType: string }): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of base.blobs!.openBlob({ digest: layer.digest, size: layer.size, mediaType: layer.mediaType }))
    chunks.push(Buffer.from(c))
  let bytes: Buffer = Buffer.concat(chunks)
  if (layer.mediaType.endsWith('+gzip')) bytes = zlib.gunzipSync(bytes)
  const extract = tar.extract()
  let text = ''
  const done = (async () => {
    for await (const entry of extract) {
      const parts: Buffer[] = []
      for await (const c of entry) parts.push(Buffer.from(c as Uint8Array))
      if (entry.header.type === 'file' && !text) text = Buffer.concat(parts).toString('utf8')
    }
  })()
  extract.end(bytes)
  await done
  return text
}

function print(out: Output, r: ImageReport): void {
  out.print(`${r.target}`)
  out.print(`  digest     ${r.digest}`)
  out.print(`  mediaType  ${r.mediaType}`)
  for (const p of r.platforms) {
    out.print(`\n  ${p.platform}  ${p.digest}`)
    for (const [k, v] of Object.entries(p.annotations)) out.print(`    annotation ${k}=${v}`)
    for (const [k, v] of Object.entries(p.labels)) out.print(`    label      ${k}=${v}`)
    for (const l of p.layers)
      out.print(
        `    ${l.digest.slice(7, 19)} ${formatBytes(l.size).padStart(10)}  ${l.mediaType.replace('application/vnd.oci.image.layer.v1.', '')}  ${l.title ?? ''}${l.modelcard ? '  (model card)' : ''}`,
      )
  }
  if (r.modelpack) printModelPack(out, r.modelpack)
  for (const o of r.others) out.print(`\n  also: ${o.digest.slice(7, 19)} ${o.what}`)
  if (r.attachments?.length) {
    out.print('\n  attached:')
    for (const a of r.attachments)
      out.print(
        a.kind === 'signatures'
          ? `    ${a.digest.slice(7, 19)}  ${a.count} cosign signature${a.count === 1 ? '' : 's'} at tag ${a.tag}`
          : `    ${a.digest.slice(7, 19)}  referrer ${a.artifactType}`,
      )
  }
  if (r.modelcard) {
    const lines = r.modelcard.text.split('\n')
    out.print(`\n  model card (${r.modelcard.digest.slice(7, 19)}):`)
    for (const line of lines.slice(0, CARD_LINES)) out.print(`    ${line}`)
    if (lines.length > CARD_LINES) out.print(`    … ${lines.length - CARD_LINES} more lines`)
  }
}

function printModelPack(out: Output, mp: ModelPackReport): void {
  out.print(`\n  ModelPack${mp.platform ? ` ${mp.platform}` : ''}  ${mp.digest}`)
  const doc = mp.config.document ?? {}
  for (const section of ['descriptor', 'config'] as const) {
    const fields = (doc[section] ?? {}) as Record<string, unknown>
    for (const [k, v] of Object.entries(fields))
      out.print(`    ${section.padEnd(10)} ${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
  }
  const diffIds = (doc.modelfs as { diffIds?: unknown[] } | undefined)?.diffIds
  out.print(`    modelfs    ${Array.isArray(diffIds) ? diffIds.length : 0} diff ids (config ${mp.config.digest.slice(7, 19)})`)
  for (const l of mp.layers)
    out.print(
      `    ${l.digest.slice(7, 19)} ${formatBytes(l.size).padStart(10)}  ${l.mediaType.replace('application/vnd.cncf.model.', '')}  ${l.filepath ?? ''}${l.untested ? '  (kind untested)' : ''}`,
    )
}
