// Every new layer, in two rounds: the model's layers at the run's concurrency (each file hashed
// as it streams when a derived file will need its digest), then each derived file, built from
// those digests, as a layer of its own.
import type { SinkInstance } from '../contract/component.js'
import type { ModelFile } from '../contract/model-file.js'
import type { Plan, PlannedLayer, StreamedFile } from '../contract/plan.js'
import { errors } from '../errors/core-errors.js'
import type { NewLayer } from '../image/edit-image.js'
import type { LayerFileEntry } from '../layer/layer-encoder.js'
import type { Descriptor } from '../oci/types.js'
import { mapBounded } from './bounded.js'
import { historyOf, titleOf } from './layer-history.js'
import { readModelFile } from './read-model-file.js'
import { guard, type ContextSettings, type Created } from './run-context.js'
import { writeLayer } from './write-layer.js'

const PROGRESS_EVERY = 16 << 20

export interface EncodeJob {
  plan: Plan
  layers: { model: PlannedLayer[]; derived: PlannedLayer[] }
  mtime: number
  sinks: Created<SinkInstance>[]
  settings: ContextSettings
}

export interface EncodedLayers {
  /** Model layers, then derived ones, as the image lists them. */
  layers: NewLayer[]
  /** The content size of each derived file. */
  derivedSizes: number[]
  /** The model card's layer, if there is one. */
  modelcard: Descriptor | undefined
}

export async function encodeLayers(job: EncodeJob): Promise<EncodedLayers> {
  const { plan, layers, settings: s } = job
  // Only a derived file needs every file's content digest: without one, files are hashed only to
  // verify a digest their source announced.
  const digests = plan.derived.length > 0 ? new Map<string, string>() : undefined
  const model = await mapBounded(layers.model, s.concurrency, (layer, i) => encodeOne(job, layer, i, digests))
  const streamed: StreamedFile[] = plan.files.map((f) => ({
    target: f.target,
    size: f.file.size,
    digest: digests?.get(f.target) ?? '',
    ...(f.file.origin ? { origin: f.file.origin } : {}),
  }))
  const derived: NewLayer[] = []
  const derivedSizes: number[] = []
  for (const [j, d] of plan.derived.entries()) {
    const built = await guard(d.source, 'apply', async () => toBytes(await d.build(streamed)))
    const file: ModelFile = {
      path: d.target,
      size: built.byteLength,
      open: async () =>
        (async function* () {
          yield built
        })(),
    }
    const layer: PlannedLayer = { ...layers.derived[j]!, files: [{ target: d.target, source: d.source, file }] }
    derived.push(await encodeOne(job, layer, layers.model.length + j, undefined))
    derivedSizes.push(built.byteLength)
  }
  const card = layers.model.findIndex((l) => l.modelcard)
  return { layers: [...model, ...derived], derivedSizes, modelcard: card < 0 ? undefined : model[card]!.descriptor }
}

async function encodeOne(job: EncodeJob, layer: PlannedLayer, index: number, digests: Map<string, string> | undefined): Promise<NewLayer> {
  const { plan, settings: s } = job
  let read = 0
  let reported = 0
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
        ...(digests ? { onDigest: (d: string) => void digests.set(f.target, d) } : {}),
      }),
  }))
  const bytes = layer.files.reduce((n, f) => n + f.file.size, 0)
  s.emit({ type: 'layer-start', layer: index, title: titleOf(layer, plan.prefix), bytes })
  const { descriptor, diffId } = await writeLayer({
    layer,
    index,
    prefix: plan.prefix,
    mtime: job.mtime,
    sinks: job.sinks,
    signal: s.signal,
    emit: s.emit,
    entries,
    bytesRead: () => read,
    resetBytes: () => void (read = 0),
  })
  return { descriptor: { ...descriptor, annotations: layer.annotations }, diffId, history: historyOf(layer, plan.prefix, job.mtime) }
}

function toBytes(content: Uint8Array | string): Uint8Array {
  if (typeof content === 'string') return Buffer.from(content, 'utf8')
  if (content instanceof Uint8Array) return content
  throw errors.planInvalid('a derived file’s build() returned neither text nor bytes')
}
