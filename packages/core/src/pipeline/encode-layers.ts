// Every new layer, in two rounds: the model's layers at the run's concurrency, then each derived
// file, built from the model files' digests, as a layer of its own. A model layer that a sink's
// target or the local record already has (the same files, named the same way, encoded the same
// way) is not read again where every sink has its bytes, and is streamed only to the sinks that
// lack them otherwise. Each file without a fingerprint is hashed as it streams: its layer says
// what it was made from, so the next run can find it. When every file's digest is needed (derived
// files, an SBOM), every file is hashed, and a reused layer serves only if it says them all.
import type { SinkInstance } from '../contract/component.js'
import type { ModelFile } from '../contract/model-file.js'
import type { Plan, PlannedLayer, StreamedFile } from '../contract/plan.js'
import { errors } from '../errors/core-errors.js'
import type { NewLayer } from '../image/edit-image.js'
import type { LayerFileEntry } from '../layer/layer-encoder.js'
import type { Descriptor } from '../oci/types.js'
import { encodingOf, factsOf, layerAnnotations, layerKeys } from '../reuse/layer-facts.js'
import type { LayerRecord } from '../reuse/layer-record.js'
import type { ReuseCandidate, ReuseIndex } from '../reuse/reuse-index.js'
import { mapBounded } from './bounded.js'
import { historyOf, titleOf } from './layer-history.js'
import { readModelFile } from './read-model-file.js'
import { guard, type ContextSettings, type Created } from './run-context.js'
import { writeLayer, type Written } from './write-layer.js'

const PROGRESS_EVERY = 16 << 20

export interface EncodeJob {
  plan: Plan
  layers: { model: PlannedLayer[]; derived: PlannedLayer[] }
  mtime: number
  sinks: Created<SinkInstance>[]
  settings: ContextSettings
  /** Where layers may already exist; undefined: every layer is written. */
  reuse?: ReuseIndex
  /** Where finished layers are recorded for the next run. */
  record?: LayerRecord
  /** Every file's content digest is wanted (an SBOM lists them), as derived files want them. */
  allDigests?: boolean
}

export interface EncodedLayers {
  /** Model layers, then derived ones, as the image lists them. */
  layers: NewLayer[]
  /** The content size of each derived file. */
  derivedSizes: number[]
  /** The model card's layer, if there is one. */
  modelcard: Descriptor | undefined
  /** Layers not read at all: every sink had them. */
  reused: number
  /** Every model file, then every derived file, with its content digest (empty when it is not known). */
  files: StreamedFile[]
}

export async function encodeLayers(job: EncodeJob): Promise<EncodedLayers> {
  const { plan, layers, settings: s } = job
  /** Content digests by target: known, computed while streaming, or recorded. */
  const digests = new Map<string, string>()
  let reused = 0
  const model = await mapBounded(layers.model, s.concurrency, async (layer, i) => {
    const out = await encodeModelLayer(job, layer, i, digests)
    if (out.reused) reused++
    return out.layer
  })
  const streamed: StreamedFile[] = plan.files.map((f) => ({
    target: f.target,
    size: f.file.size,
    digest: digests.get(f.target) ?? f.file.digest ?? '',
    ...(f.file.origin ? { origin: f.file.origin } : {}),
  }))
  const derived: NewLayer[] = []
  const derivedSizes: number[] = []
  const derivedFiles: StreamedFile[] = []
  for (const [j, d] of plan.derived.entries()) {
    const built = await guard(d.source, 'apply', async () => toBytes(await d.build(streamed)))
    const file: ModelFile = { path: d.target, size: built.byteLength, open: async () => [built] }
    const layer: PlannedLayer = { ...layers.derived[j]!, files: [{ target: d.target, source: d.source, file }] }
    derived.push(await streamLayer(job, layer, layers.model.length + j, digests, job.sinks))
    derivedSizes.push(built.byteLength)
    derivedFiles.push({ target: d.target, size: built.byteLength, digest: digests.get(d.target) ?? '' })
  }
  const card = layers.model.findIndex((l) => l.modelcard)
  const files = [...streamed, ...derivedFiles]
  return { layers: [...model, ...derived], derivedSizes, modelcard: card < 0 ? undefined : model[card]!.descriptor, reused, files }
}

/** One model layer: reused where the sinks have it, streamed to those that do not, then recorded. */
async function encodeModelLayer(
  job: EncodeJob,
  layer: PlannedLayer,
  index: number,
  digests: Map<string, string>,
): Promise<{ layer: NewLayer; reused: boolean }> {
  const { plan, settings: s } = job
  const encoding = encodingOf(layer, plan.prefix, job.mtime)
  const candidate = usable(job.reuse?.find(layer, encoding), layer, needsAllDigests(job))
  let sinks = job.sinks
  if (candidate) {
    sinks = []
    for (const sink of job.sinks)
      if (!(await guard(sink.type, 'write', () => sink.instance.has(candidate.descriptor as Descriptor)))) sinks.push(sink)
    for (const [target, digest] of candidate.digests) digests.set(target, digest)
    if (sinks.length === 0) {
      const bytes = layer.files.reduce((n, f) => n + f.file.size, 0)
      s.emit({ type: 'layer-start', layer: index, title: titleOf(layer, plan.prefix), bytes })
      s.emit({ type: 'layer-done', layer: index, digest: candidate.descriptor.digest, size: candidate.descriptor.size, skipped: true })
      return { layer: newLayerOf(job, layer, encoding, candidate.descriptor, candidate.diffId, digests), reused: true }
    }
  }
  // Recorded before `layer-done` is sent: a run killed once a layer is reported done resumes past it.
  const record = async (written: Written) =>
    job.record?.add({
      keys: layerKeys(encoding, factsOf(layer, digests)),
      mediaType: written.descriptor.mediaType,
      digest: written.descriptor.digest,
      size: written.descriptor.size,
      diffId: written.diffId,
      files: layer.files.map((f) => ({ target: f.target, ...(digests.has(f.target) ? { digest: digests.get(f.target)! } : {}) })),
    })
  return { layer: await streamLayer(job, layer, index, digests, sinks, candidate?.descriptor, record), reused: false }
}

/** Whether the run needs every file's digest: derived files are built from them, an SBOM lists them. */
function needsAllDigests(job: EncodeJob): boolean {
  return job.plan.derived.length > 0 || job.allDigests === true
}

/** A candidate serves only if it gives everything a full run would know: with derived files or an SBOM, every file's digest. */
function usable(candidate: ReuseCandidate | undefined, layer: PlannedLayer, allDigests: boolean): ReuseCandidate | undefined {
  if (!candidate || !allDigests) return candidate
  return layer.files.every((f) => f.file.digest || candidate.digests.has(f.target)) ? candidate : undefined
}

/** Streams a layer from its sources to `sinks`, hashing each file that has no fingerprint. */
async function streamLayer(
  job: EncodeJob,
  layer: PlannedLayer,
  index: number,
  digests: Map<string, string>,
  sinks: Created<SinkInstance>[],
  known?: Pick<Descriptor, 'digest' | 'size'>,
  onWritten?: (written: Written) => Promise<void>,
): Promise<NewLayer> {
  const { plan, settings: s } = job
  let read = 0
  let reported = 0
  // A derived file or an SBOM needs every digest; otherwise a fingerprinted (local) file is not hashed on its own.
  const hashAll = needsAllDigests(job)
  const entries: LayerFileEntry[] = layer.files.map((f) => ({
    name: `${plan.prefix}/${f.target}`,
    size: f.file.size,
    executable: ((f.file.mode ?? 0) & 0o111) !== 0,
    read: () =>
      readModelFile(f.file, {
        component: f.source,
        signal: s.signal,
        onBytes: (n) => {
          read += n
          if (read - reported >= PROGRESS_EVERY) {
            reported = read
            s.emit({ type: 'layer-progress', layer: index, bytes: read })
          }
        },
        onRetry: (attempt, reason) => s.emit({ type: 'retry', what: f.target, attempt, reason }),
        ...(hashAll || !f.file.fingerprint ? { onDigest: (d: string) => void digests.set(f.target, d) } : {}),
      }),
  }))
  const bytes = layer.files.reduce((n, f) => n + f.file.size, 0)
  s.emit({ type: 'layer-start', layer: index, title: titleOf(layer, plan.prefix), bytes })
  const { descriptor, diffId } = await writeLayer({
    layer,
    index,
    prefix: plan.prefix,
    mtime: job.mtime,
    sinks,
    signal: s.signal,
    emit: s.emit,
    entries,
    bytesRead: () => read,
    resetBytes: () => void (read = 0),
    ...(known ? { known } : {}),
    ...(onWritten ? { onWritten } : {}),
  })
  return newLayerOf(job, layer, encodingOf(layer, plan.prefix, job.mtime), descriptor, diffId, digests)
}

function newLayerOf(
  job: EncodeJob,
  layer: PlannedLayer,
  encoding: string,
  descriptor: Pick<Descriptor, 'mediaType' | 'digest' | 'size'>,
  diffId: string,
  digests: ReadonlyMap<string, string>,
): NewLayer {
  const annotations = layerAnnotations(layer, encoding, { digest: descriptor.digest, diffId }, digests)
  return {
    descriptor: { mediaType: descriptor.mediaType, digest: descriptor.digest, size: descriptor.size, annotations },
    diffId,
    history: historyOf(layer, job.plan.prefix, job.mtime),
  }
}

function toBytes(content: Uint8Array | string): Uint8Array {
  if (typeof content === 'string') return Buffer.from(content, 'utf8')
  if (content instanceof Uint8Array) return content
  throw errors.planInvalid('a derived file’s build() returned neither text nor bytes')
}
