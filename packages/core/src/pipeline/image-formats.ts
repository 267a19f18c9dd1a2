// What the engine does for `image.formats`: with `modelpack`, the files whose bytes tell the
// ModelPack config something are watched as they stream; with `layers: raw`, every file is a layer
// of its own bytes; at commit, the ModelPack manifest and config are made from the layers that were
// written, beside the Modelcar in its index or alone. A file whose layer was reused (not read) says
// again what it said before, from the local record; without one, its first bytes are read again.
import type { Plan, PlannedFile, PlannedLayer } from '../contract/plan.js'
import type { EditedImage } from '../contract/image.js'
import type { NewLayer } from '../image/edit-image.js'
import { modelPackOnly, withModelPack } from '../image/modelpack-image.js'
import { ContentProbes } from '../modelpack/content-probes.js'
import { factKeys, FactsRecord } from '../modelpack/facts-record.js'
import type { ContentFacts } from '../modelpack/model-facts.js'
import { modelPackConfig } from '../modelpack/modelpack-config.js'
import { modelPackDocuments, type ArtifactLayer } from '../modelpack/modelpack-manifest.js'
import { Annotation } from '../oci/media-types.js'
import { layerOf } from '../plan/plan-layers.js'
import type { ImageOptions } from '../recipe/image-options.js'
import { readModelFile } from './read-model-file.js'
import type { ContextSettings } from './run-context.js'

export interface PlannedLayers {
  model: PlannedLayer[]
  derived: PlannedLayer[]
}

/** The plan with its probed files watched as they stream; the plan as it is without `modelpack`. */
export function watchPlan(plan: Plan, image: ImageOptions): { plan: Plan; probes: ContentProbes | undefined } {
  if (!image.formats.includes('modelpack')) return { plan, probes: undefined }
  const probes = new ContentProbes()
  return { plan: { ...plan, files: plan.files.map((f) => probes.watch(f)) }, probes }
}

/** With `layers: raw`, each file in a raw layer of its own (a grouped layer is split); otherwise the layers as planned. */
export function shapeLayers(layers: PlannedLayers, plan: Plan, image: ImageOptions): PlannedLayers {
  if (image.formats.includes('modelcar') || image.modelpack.layers !== 'raw') return layers
  return {
    model: layers.model.flatMap((l) => l.files.map((f): PlannedLayer => ({ ...layerOf([f], plan), raw: true }))),
    derived: layers.derived.map((l) => ({ ...l, raw: true })),
  }
}

export interface ArtifactJob {
  plan: Plan
  /** Model layers, then derived ones: the order of `written`. */
  layers: PlannedLayer[]
  written: NewLayer[]
  derivedSizes: number[]
  probes: ContentProbes
  image: ImageOptions
  mtime: number
  cacheDir: string | undefined
  settings: ContextSettings
}

/** The image to commit: the Modelcar with the ModelPack manifest in its index, or the artifact alone. */
export async function addModelPack(modelcar: EditedImage | undefined, job: ArtifactJob): Promise<EditedImage> {
  const facts = await filesFacts(job)
  const files = [...job.plan.files]
    .sort((a, b) => Number(!!b.modelcard) - Number(!!a.modelcard))
    .map((f) => ({ target: f.target, size: f.file.size, facts: facts.get(f.target) }))
  const config = modelPackConfig({
    annotations: job.plan.annotations,
    files,
    diffIds: job.written.map((l) => l.diffId),
    created: job.mtime ? new Date(job.mtime * 1000).toISOString().replace('.000Z', 'Z') : undefined,
    overrides: job.image.modelpack,
  })
  const mp = modelPackDocuments({
    layers: artifactLayers(job),
    config,
    annotations: job.plan.annotations,
    mtime: job.mtime,
    keepLayerFacts: !modelcar,
  })
  return modelcar ? withModelPack(modelcar, mp) : modelPackOnly(mp)
}

function artifactLayers(job: ArtifactJob): ArtifactLayer[] {
  const firstDerived = job.layers.length - job.derivedSizes.length
  return job.layers.map((layer, i) => ({
    descriptor: job.written[i]!.descriptor,
    diffId: job.written[i]!.diffId,
    files: layer.files.map((f) => ({
      target: f.target,
      // A derived file's size is known once it is built.
      size: i >= firstDerived ? job.derivedSizes[i - firstDerived]! : f.file.size,
      executable: ((f.file.mode ?? 0) & 0o111) !== 0,
    })),
    compression: layer.compression,
    raw: layer.raw === true,
  }))
}

/**
 * What each probed file said: seen while it streamed, else recorded by an earlier run, else read
 * again (its first bytes only). Everything learnt is recorded for the next run.
 */
async function filesFacts(job: ArtifactJob): Promise<Map<string, ContentFacts>> {
  const record = job.cacheDir ? await FactsRecord.open(job.cacheDir) : undefined
  const digests = contentDigests(job)
  const out = new Map<string, ContentFacts>()
  for (const f of job.plan.files) {
    const probe = ContentProbes.probeOf(f)
    if (!probe) continue
    const keys = factKeys(probe.sort, f.file, digests.get(f.target))
    let facts = job.probes.found.get(f.target) ?? record?.find(keys)
    if (!facts && !job.probes.settled(f.target)) facts = await readAgain(f, job)
    if (!facts) continue
    out.set(f.target, facts)
    await record?.add(keys, facts)
  }
  return out
}

/** The content digest of each file in a layer of its own, as its layer says it (known, or computed while streaming). */
function contentDigests(job: ArtifactJob): Map<string, string> {
  const out = new Map<string, string>()
  job.layers.forEach((layer, i) => {
    const digest = job.written[i]!.descriptor.annotations?.[Annotation.contentDigest]
    if (layer.files.length === 1 && digest) out.set(layer.files[0]!.target, digest)
  })
  return out
}

/** The first bytes of a file whose layer was not read this run, until its probe has what it needs. */
async function readAgain(f: PlannedFile, job: ArtifactJob): Promise<ContentFacts | undefined> {
  const s = job.settings
  s.emit({
    type: 'log',
    level: 'info',
    component: f.source,
    message: `reading the start of \`${f.target}\` for the ModelPack config: its layer was reused, and no record says what the file holds`,
  })
  for await (const _chunk of readModelFile(f.file, { signal: s.signal, component: f.source })) if (job.probes.settled(f.target)) break
  return job.probes.found.get(f.target)
}
