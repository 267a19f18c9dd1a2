// The engine: recipe in, image out. Components are created, the base is read, the plan is made
// (no model byte read yet), then each layer streams from its sources through the encoder to every
// sink at once, derived files are built from what streamed, and the sinks commit the new image:
// the Modelcar, its ModelPack manifest beside it, or the ModelPack artifact alone (image.formats),
// then what the recipe attaches to it (SBOM, provenance, signatures: attach-step.ts). A failure
// before the commit leaves every sink as it was.
import os from 'node:os'
import type { BaseInstance, CommitResult, SinkInstance } from '../contract/component.js'
import type { Attachment } from '../contract/attachment.js'
import type { RunEvent } from '../contract/events.js'
import type { EditedImage } from '../contract/image.js'
import type { Plan, PlannedLayer } from '../contract/plan.js'
import { errors } from '../errors/core-errors.js'
import { baseLayerCount } from '../image/base-image.js'
import { editImage, type NewLayer } from '../image/edit-image.js'
import { mediaTypeFor } from '../layer/layer-encoder.js'
import type { ContentProbes } from '../modelpack/content-probes.js'
import { Annotation } from '../oci/media-types.js'
import type { Descriptor } from '../oci/types.js'
import { imageOptionsOf, type ImageOptions } from '../recipe/image-options.js'
import type { Recipe } from '../recipe/load-recipe.js'
import { LayerRecord } from '../reuse/layer-record.js'
import { ReuseIndex } from '../reuse/reuse-index.js'
import { attachmentsFor, prepareSupplyChain, storeAttachments, type SupplyChain } from './attach-step.js'
import { copyBaseBlobs } from './copy-base-blobs.js'
import { encodeLayers, type EncodedLayers } from './encode-layers.js'
import { addModelPack, shapeLayers, watchPlan } from './image-formats.js'
import { sourceDateEpoch, titleOf } from './layer-history.js'
import { applyTransforms, layersOf, listSources } from './make-plan.js'
import { watchCard } from './model-licenses.js'
import { contextFor, createAll, guard, type ContextSettings, type Created } from './run-context.js'

export interface RunOptions {
  env?: Readonly<Record<string, string | undefined>>
  signal?: AbortSignal
  onEvent?: (event: RunEvent) => void
  /** Plan only: no model byte is read, nothing is written. */
  dryRun?: boolean
  /** Layers encoded at once. */
  concurrency?: number
  fetch?: typeof globalThis.fetch
  /** Told every secret a component registers (a token it found), so the caller can mask it. */
  onSecret?: (value: string) => void
  /**
   * Where the record of layers written before is kept (metadata only), so a later run reuses
   * them instead of reading their files again, and a run killed half-way resumes. Undefined: no
   * record (layers are still found in the image each sink holds).
   */
  cacheDir?: string
  /** Neither the record nor the sinks' images are looked in: every file is read. */
  noReuse?: boolean
}

export interface RunResult {
  plan: Plan
  layers: PlannedLayerResult[]
  /** Digest of the new image (manifest or index); undefined on a dry run. */
  digest: string | undefined
  commits: CommitResult[]
  bytes: number
  seconds: number
  /** Layers not read at all: every sink had them already. */
  reused: number
  /** What was attached to the image (`attach:`, `sign:`), per sink target. */
  attachments: { sink: string; what: string; digest: string }[]
}

export interface PlannedLayerResult {
  title: string
  files: string[]
  /** Bytes of the files in it; a derived file's are known once it is built (0 on a dry run). */
  bytes: number
  /** A derived file's layer: built from the others once they streamed. */
  derived?: boolean
  descriptor?: Descriptor
}

export async function runRecipe(recipe: Recipe, opts: RunOptions = {}): Promise<RunResult> {
  const started = performance.now()
  const settings = settingsOf(recipe, opts)
  const emit = settings.emit
  const sources = await createAll(recipe.sources, settings)
  const transforms = await createAll(recipe.transforms, settings)
  const sinks = await createAll(recipe.sinks, settings)
  for (const s of sinks) await guard(s.type, 'check', () => s.instance.check?.())

  const baseType = recipe.base.component.type
  const baseInstance = await guard(
    baseType,
    'create',
    () => recipe.base.component.create(recipe.base.config as never, contextFor(baseType, settings)) as BaseInstance | Promise<BaseInstance>,
  )
  const base = await guard(baseType, 'load', () => baseInstance.load({ platforms: recipe.platforms }))
  const image = imageOptionsOf(recipe.image)
  const listed = await applyTransforms(await listSources(recipe, baseLayerCount(base), sources), transforms)
  // What callers get back is the plan as listed; the engine streams the watched one.
  const watched = watchPlan(listed, image)
  // The SBOM's licence comes from the model card, seen as it streams.
  const carded = recipe.attach?.sbom ? watchCard(watched.plan, watched.probes) : { plan: watched.plan, probes: undefined }
  const plan = carded.plan
  const layers = shapeLayers(layersOf(plan), plan, image)
  const totalBytes = plan.files.reduce((n, f) => n + f.file.size, 0)
  emit({
    type: 'plan',
    files: plan.files.length,
    layers: layers.model.length + layers.derived.length,
    bytes: totalBytes,
    baseLayers: plan.baseLayers,
  })
  const summary = planSummary(layers, plan)
  if (opts.dryRun)
    return {
      plan: listed,
      layers: summary,
      digest: undefined,
      commits: [],
      bytes: totalBytes,
      seconds: seconds(started),
      reused: 0,
      attachments: [],
    }
  const chain = await prepareSupplyChain(recipe, sinks, settings)

  const prepared: Created<SinkInstance>[] = []
  try {
    for (const s of sinks) {
      await guard(s.type, 'write', () => s.instance.prepare?.())
      prepared.push(s)
    }
    const mtime = sourceDateEpoch(settings.env)
    const record =
      opts.cacheDir && !opts.noReuse ? await LayerRecord.open(opts.cacheDir, (message) => emit({ type: 'warning', message })) : undefined
    const reuse = opts.noReuse ? undefined : await reuseIndex(record, sinks)
    const encoded = await encodeLayers({
      plan,
      layers,
      mtime,
      sinks,
      settings,
      ...(reuse ? { reuse } : {}),
      ...(record ? { record } : {}),
      allDigests: chain?.allDigests ?? false,
    })
    const formats: Formats = {
      image,
      layers: [...layers.model, ...layers.derived],
      probes: watched.probes,
      cacheDir: opts.noReuse ? undefined : opts.cacheDir,
    }
    const supply = chain && { chain, recipe, cardProbes: carded.probes }
    const commits = await commitImage(plan, base, encoded, sinks, settings, formats, supply)
    const digest = commits.digest
    emit({ type: 'done', digest, seconds: seconds(started), bytes: totalBytes, reused: encoded.reused })
    return {
      plan: listed,
      layers: summary.map((s, i) => ({
        ...s,
        bytes: s.derived ? encoded.derivedSizes[i - layers.model.length]! : s.bytes,
        descriptor: encoded.layers[i]!.descriptor,
      })),
      digest,
      commits: commits.results,
      bytes: totalBytes,
      seconds: seconds(started),
      reused: encoded.reused,
      attachments: commits.attachments,
    }
  } catch (err) {
    for (const s of prepared) await s.instance.abort?.().catch(() => {})
    // Whatever a component said while being cancelled, the run was cancelled.
    if (settings.signal.aborted) throw errors.aborted(settings.signal.reason)
    throw err
  }
}

function settingsOf(recipe: Recipe, opts: RunOptions): ContextSettings {
  return {
    baseDir: recipe.dir,
    env: opts.env ?? {},
    signal: opts.signal ?? new AbortController().signal,
    concurrency: opts.concurrency ?? defaultConcurrency(),
    fetch: opts.fetch ?? globalThis.fetch,
    emit: (e: RunEvent) => opts.onEvent?.(e),
    secret: (value) => opts.onSecret?.(value),
  }
}

/** The layers as the plan has them, before any byte is read (a derived file's size is known once it is built). */
function planSummary(layers: { model: PlannedLayer[]; derived: PlannedLayer[] }, plan: Plan): PlannedLayerResult[] {
  return [
    ...layers.model.map((l) => ({
      title: titleOf(l, plan.prefix),
      files: l.files.map((f) => f.target),
      bytes: l.files.reduce((n, f) => n + f.file.size, 0),
    })),
    ...layers.derived.map((l) => ({ title: titleOf(l, plan.prefix), files: l.files.map((f) => f.target), bytes: 0, derived: true })),
  ]
}

/** What the commit needs to write the formats the recipe asks for. */
interface Formats {
  image: ImageOptions
  /** Model layers, then derived ones: the order of the encoded layers. */
  layers: PlannedLayer[]
  /** Set when the image has a ModelPack manifest: what the files said as they streamed. */
  probes: ContentProbes | undefined
  cacheDir: string | undefined
}

/** What the commit needs for `attach:` and `sign:`. */
interface Supply {
  chain: SupplyChain
  recipe: Recipe
  cardProbes: ContentProbes | undefined
}

/**
 * The new image (see imageOf), the base's blobs where they are missing, and every sink's commit;
 * with `attach`/`sign`, the attachments are made (signed) before the first commit and stored by
 * each sink after its own.
 */
async function commitImage(
  plan: Plan,
  base: Parameters<typeof editImage>[0],
  encoded: EncodedLayers,
  sinks: Created<SinkInstance>[],
  s: ContextSettings,
  formats: Formats,
  supply: Supply | undefined,
): Promise<{ digest: string; results: CommitResult[]; attachments: RunResult['attachments'] }> {
  const image = await imageOf(plan, base, encoded, s, formats)
  const bySink = supply
    ? await attachmentsFor(supply.chain, {
        recipe: supply.recipe,
        plan,
        base,
        image: image.root,
        encoded,
        probes: supply.cardProbes,
        cacheDir: formats.cacheDir,
        sinks,
        settings: s,
      })
    : new Map<Created<SinkInstance>, Attachment[]>()
  for (const dropped of image.dropped) {
    const what = dropped.annotations?.[Annotation.dockerReferenceType] ?? dropped.artifactType ?? dropped.mediaType
    s.emit({ type: 'warning', message: `dropped \`${dropped.digest}\` (${what}): it describes the base image, not the new one` })
  }
  await copyBaseBlobs({ base, blobs: image.baseBlobs, sinks, concurrency: s.concurrency, emit: s.emit, signal: s.signal })
  const results: CommitResult[] = []
  for (const sink of sinks) {
    const result = await guard(sink.type, 'commit', () => sink.instance.commit(image))
    results.push(result)
    s.emit({ type: 'commit', sink: sink.type, ref: result.ref, digest: result.digest })
  }
  await storeAttachments(sinks, bySink, s)
  const attachments = [...bySink].flatMap(([sink, list]) =>
    list.map((a) => ({
      sink: sink.instance.target,
      what: a.what,
      digest: a.kind === 'referrer' ? a.manifest.descriptor.digest : a.layer.descriptor.digest,
    })),
  )
  return { digest: image.root.digest, results, attachments }
}

/** The Modelcar (the new layers on the base), with its ModelPack manifest beside it; or the ModelPack artifact alone. */
async function imageOf(
  plan: Plan,
  base: Parameters<typeof editImage>[0],
  encoded: EncodedLayers,
  s: ContextSettings,
  formats: Formats,
): Promise<EditedImage> {
  const mtime = sourceDateEpoch(s.env)
  const options = formats.image
  let modelcar: EditedImage | undefined
  if (options.formats.includes('modelcar')) {
    // A tar layer found in an image the sink holds keeps the name a Modelcar gives it, wherever it was found.
    const newLayers: NewLayer[] = encoded.layers.map((l, i) => ({
      ...l,
      descriptor: { ...l.descriptor, mediaType: mediaTypeFor(formats.layers[i]!.compression) },
    }))
    const manifestAnnotations = { ...plan.annotations }
    if (encoded.modelcard) manifestAnnotations[Annotation.odhModelcard] = encoded.modelcard.digest
    modelcar = await editImage(base, {
      layers: newLayers,
      manifestAnnotations,
      labels: plan.labels,
      created: mtime ? new Date(mtime * 1000).toISOString() : undefined,
    })
  }
  if (!formats.probes) return modelcar!
  return addModelPack(modelcar, {
    plan,
    layers: formats.layers,
    written: encoded.layers,
    derivedSizes: encoded.derivedSizes,
    probes: formats.probes,
    image: options,
    mtime,
    cacheDir: formats.cacheDir,
    settings: s,
  })
}

/** The record, and the layers each sink's target holds. */
async function reuseIndex(record: LayerRecord | undefined, sinks: Created<SinkInstance>[]): Promise<ReuseIndex> {
  const index = new ReuseIndex(record)
  for (const sink of sinks) {
    const held = sink.instance.heldLayers
    if (held) index.addHeld(await guard(sink.type, 'write', () => held.call(sink.instance)), sink.instance.target)
  }
  return index
}

function seconds(started: number): number {
  return (performance.now() - started) / 1000
}

/** Memory a layer in flight may take (chunks in flight, the hash thread's blocks, sink buffers), with room to spare. */
const MEMORY_PER_LAYER = 32 << 20

/**
 * Layers encoded at once when the caller does not say: one per core, so a large machine is used
 * (hashing, compression and copies are CPU work), at least 2 (a layer waiting on I/O leaves its
 * core to another), and no more than an eighth of the memory allows.
 */
export function defaultConcurrency(): number {
  const byMemory = Math.floor(os.totalmem() / 8 / MEMORY_PER_LAYER)
  return Math.max(2, Math.min(os.availableParallelism(), byMemory, 64))
}
