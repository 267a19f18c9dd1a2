// The engine: recipe in, image out. Components are created, the base is read, the plan is made
// (no model byte read yet), then each layer streams from its sources through the encoder to every
// sink at once, and the sinks commit the new image. A failure leaves every sink as it was.
import os from 'node:os'
import type { ComponentContext, Logger } from '../components/context.js'
import type { SinkInstance, SourceInstance, TransformInstance, CommitResult } from '../components/define.js'
import type { ComponentRegistry } from '../components/registry.js'
import { errors, ModelcarError } from '../errors.js'
import { encodeLayer, mediaTypeFor, type EncodedLayer, type LayerFileEntry } from '../layer/layer-encoder.js'
import { baseLayerCount, loadLayoutBase, scratchBase, type BaseImage } from '../oci/base-image.js'
import { editImage, type NewLayer } from '../oci/edit-image.js'
import type { BlobWriter } from '../oci/image-layout.js'
import { Annotation } from '../oci/media-types.js'
import type { Descriptor } from '../oci/types.js'
import { normalizePrefix, safeModelPath } from '../plan/model-path.js'
import { DEFAULT_MAX_LAYERS, type Plan, type PlannedFile, type PlannedLayer } from '../plan/plan.js'
import { planLayers } from '../plan/plan-layers.js'
import type { BaseRef, ComponentEntry, Recipe } from '../recipe/load-recipe.js'
import { mapBounded } from './bounded.js'
import { coalesce } from './coalesce.js'
import type { RunEvent } from './events.js'
import { sleep } from '../http/retry-after.js'
import { isRetryable, readModelFile } from './read-model-file.js'

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
  /** Reads bases the core does not know (`registry:`); provided by @modelcar/sink-registry. */
  loadBase?: (ref: BaseRef, ctx: ComponentContext) => Promise<BaseImage | undefined>
  registry?: ComponentRegistry
}

export interface RunResult {
  plan: Plan
  layers: PlannedLayerResult[]
  /** Digest of the new image (manifest or index); undefined on a dry run. */
  digest: string | undefined
  commits: CommitResult[]
  bytes: number
  seconds: number
}

export interface PlannedLayerResult {
  title: string
  files: string[]
  bytes: number
  descriptor?: Descriptor
}

export async function runRecipe(recipe: Recipe, opts: RunOptions = {}): Promise<RunResult> {
  const started = performance.now()
  const env = opts.env ?? {}
  const signal = opts.signal ?? new AbortController().signal
  const emit = (e: RunEvent) => opts.onEvent?.(e)
  const concurrency = opts.concurrency ?? defaultConcurrency()
  const ctxFor = (type: string): ComponentContext => ({
    type,
    logger: loggerFor(type, emit),
    signal,
    concurrency,
    baseDir: recipe.dir,
    env,
    fetch: opts.fetch ?? globalThis.fetch,
    emit,
    secret: (value) => opts.onSecret?.(value),
  })

  const sources = await createAll<SourceInstance>(recipe.sources, ctxFor)
  const transforms = await createAll<TransformInstance>(recipe.transforms, ctxFor)
  const sinks = await createAll<SinkInstance>(recipe.sinks, ctxFor)
  for (const s of sinks) await guard(s.type, 'check', () => s.instance.check?.())

  const base = await loadBase(recipe, opts, ctxFor('base'))
  let plan = await makePlan(recipe, base, sources)
  for (const t of transforms) plan = await guard(t.type, 'apply', () => t.instance.apply(plan))
  const layers = plan.layers ?? planLayers(plan)
  plan = { ...plan, layers }
  const totalBytes = plan.files.reduce((n, f) => n + f.file.size, 0)
  emit({ type: 'plan', files: plan.files.length, layers: layers.length, bytes: totalBytes, baseLayers: plan.baseLayers })
  const summary = layers.map((l) => ({
    title: titleOf(l, plan.prefix),
    files: l.files.map((f) => f.target),
    bytes: l.files.reduce((n, f) => n + f.file.size, 0),
  }))
  if (opts.dryRun)
    return { plan, layers: summary, digest: undefined, commits: [], bytes: totalBytes, seconds: (performance.now() - started) / 1000 }

  const prepared: typeof sinks = []
  try {
    for (const s of sinks) {
      await guard(s.type, 'write', () => s.instance.prepare?.())
      prepared.push(s)
    }
    const mtime = sourceDateEpoch(env)
    const encoded = await mapBounded(layers, concurrency, (layer, i) => writeLayer(layer, i, plan.prefix, mtime, sinks, signal, emit))
    const newLayers: NewLayer[] = encoded.map(({ descriptor, diffId }, i) => ({
      descriptor: { ...descriptor, annotations: layers[i]!.annotations },
      diffId,
      history: historyOf(layers[i]!, plan.prefix, mtime),
    }))
    const manifestAnnotations = { ...plan.annotations }
    const card = newLayers[layers.findIndex((l) => l.modelcard)]
    if (card) manifestAnnotations[Annotation.odhModelcard] = card.descriptor.digest
    const image = await editImage(base, {
      layers: newLayers,
      manifestAnnotations,
      labels: plan.labels,
      created: mtime ? new Date(mtime * 1000).toISOString() : undefined,
    })
    for (const dropped of image.dropped) {
      emit({
        type: 'warning',
        message: `dropped \`${dropped.digest}\` (${dropped.annotations?.[Annotation.dockerReferenceType] ?? dropped.artifactType ?? dropped.mediaType}): it describes the base image, not the new one`,
      })
    }
    await copyBaseBlobs(base, image.baseBlobs, sinks, concurrency, emit, signal)
    const commits: CommitResult[] = []
    for (const s of sinks) {
      const result = await guard(s.type, 'commit', () => s.instance.commit(image))
      commits.push(result)
      emit({ type: 'commit', sink: s.type, ref: result.ref, digest: result.digest })
    }
    const seconds = (performance.now() - started) / 1000
    emit({ type: 'done', digest: image.root.digest, seconds, bytes: totalBytes })
    return {
      plan,
      layers: summary.map((s, i) => ({ ...s, descriptor: newLayers[i]!.descriptor })),
      digest: image.root.digest,
      commits,
      bytes: totalBytes,
      seconds,
    }
  } catch (err) {
    for (const s of prepared) await s.instance.abort?.().catch(() => {})
    // Whatever a component said while being cancelled, the run was cancelled.
    if (signal.aborted) throw errors.aborted(signal.reason)
    throw err
  }
}

/** A created component. `type` is the component's own (a plugin named by package has a short one). */
interface Created<I> {
  entry: ComponentEntry
  type: string
  instance: I
}

async function createAll<I>(entries: ComponentEntry[], ctxFor: (type: string) => ComponentContext): Promise<Created<I>[]> {
  const out: Created<I>[] = []
  for (const entry of entries) {
    const type = entry.component.type
    const instance = await guard(type, 'create', () => entry.component.create(entry.config as never, ctxFor(type)) as I | Promise<I>)
    out.push({ entry, type, instance })
  }
  return out
}

/** Runs a component hook; anything it throws comes out as a ModelcarError naming the component and phase. */
async function guard<T>(type: string, phase: NonNullable<ModelcarError['phase']>, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    throw errors.componentFailed(type, phase, err)
  }
}

async function loadBase(recipe: Recipe, opts: RunOptions, ctx: ComponentContext): Promise<BaseImage> {
  const ref = recipe.base
  if (ref.kind === 'scratch') return scratchBase(recipe.platforms)
  if (ref.kind === 'oci-layout') return loadLayoutBase(ref.path, ref.tag, recipe.baseText)
  const loaded = await opts.loadBase?.(ref, ctx)
  if (!loaded)
    throw errors.imageUnsupported(
      `base \`${recipe.baseText}\` needs the registry support of @modelcar/sink-registry`,
      'copy the base into a layout first: `skopeo copy docker://REF oci:./base:latest`, then `base: oci-layout:./base:latest`',
    )
  return loaded
}

async function makePlan(recipe: Recipe, base: BaseImage, sources: Created<SourceInstance>[]): Promise<Plan> {
  const files: PlannedFile[] = []
  const byTarget = new Map<string, { planned: PlannedFile; index: number }>()
  const annotations: Record<string, string> = {}
  const label = (i: number, type: string, origin?: string) => origin ?? `sources[${i}] (\`${type}\`)`
  for (const [i, { type, instance }] of sources.entries()) {
    await guard(type, 'list', async () => {
      for await (const file of instance.list()) {
        const target = safeModelPath(file.path)
        if (!Number.isSafeInteger(file.size) || file.size < 0)
          throw errors.planInvalid(`\`${file.path}\` has no valid size (${String(file.size)})`)
        const other = byTarget.get(target)
        if (other)
          throw errors.pathCollision(
            target,
            label(other.index, other.planned.source, other.planned.file.origin),
            label(i, type, file.origin),
          )
        const planned: PlannedFile = { file, target, source: type }
        byTarget.set(target, { planned, index: i })
        files.push(planned)
      }
      Object.assign(annotations, instance.annotations?.() ?? {})
      const card = instance.modelcard?.()
      const planned = card === undefined ? undefined : byTarget.get(safeModelPath(card))?.planned
      if (planned && !files.some((f) => f.modelcard)) planned.modelcard = true
    })
  }
  return {
    prefix: normalizePrefix(recipe.image.prefix),
    files,
    layering: { strategy: 'per-file', groupBelowBytes: 1 << 20, maxLayers: DEFAULT_MAX_LAYERS },
    compression: recipe.image.compression,
    modelcardCompression: 'gzip',
    annotations,
    labels: {},
    baseLayers: baseLayerCount(base),
  }
}

const PROGRESS_EVERY = 16 << 20

async function writeLayer(
  layer: PlannedLayer,
  index: number,
  prefix: string,
  mtime: number,
  sinks: Created<SinkInstance>[],
  signal: AbortSignal,
  emit: (e: RunEvent) => void,
): Promise<{ descriptor: Descriptor; diffId: string }> {
  const bytes = layer.files.reduce((n, f) => n + f.file.size, 0)
  const title = titleOf(layer, prefix)
  emit({ type: 'layer-start', layer: index, title, bytes })
  let read = 0
  let reported = 0
  const entries: LayerFileEntry[] = layer.files.map((f) => ({
    name: `${prefix}/${f.target}`,
    size: f.file.size,
    executable: ((f.file.mode ?? 0) & 0o111) !== 0,
    read: () =>
      readModelFile(f.file, {
        component: f.source,
        signal,
        onBytes: (n) => {
          read += n
          if (read - reported >= PROGRESS_EVERY) {
            reported = read
            emit({ type: 'layer-progress', layer: index, bytes: read })
          }
        },
        onRetry: (attempt, reason) => emit({ type: 'retry', what: f.target, attempt, reason }),
      }),
  }))
  // Every sink gets the layer from one encoding. A sink whose upload failed in a way worth
  // retrying (a cut connection, a 503, a registry that needs the digest up front) gets the layer
  // streamed again from the source, for it alone: the encoder is deterministic, and the digest of
  // each new pass is checked against the first. Pass n is attempt n for every sink in it.
  type Live = { sink: Created<SinkInstance>; writer: BlobWriter }
  let pending = sinks
  let first: EncodedLayer | undefined
  for (let pass = 1; pass === 1 || pending.length > 0; pass++) {
    const failed: { sink: Created<SinkInstance>; err: unknown }[] = []
    const live: Live[] = []
    const fail = async (w: Live, err: unknown) => {
      await w.writer.abort().catch(() => {})
      live.splice(live.indexOf(w), 1)
      if (!isRetryable(err) || pass >= MAX_SINK_ATTEMPTS || signal.aborted) throw errors.componentFailed(w.sink.type, 'write', err)
      failed.push({ sink: w.sink, err })
    }
    try {
      const hint = {
        mediaType: mediaTypeFor(layer.compression),
        verify: false,
        annotations: layer.annotations,
        attempt: pass,
        ...(first ? { digest: first.digest, size: first.size } : {}),
      }
      for (const s of pending) live.push({ sink: s, writer: await guard(s.type, 'write', () => s.instance.openBlob(hint)) })
      if (pass > 1) read = 0
      const enc = encodeLayer(entries, { compression: layer.compression, mtime })
      for await (const chunk of coalesce(enc.chunks)) {
        if (signal.aborted) throw errors.aborted(signal.reason)
        await Promise.all([...live].map((w) => w.writer.write(chunk).catch((err: unknown) => fail(w, err))))
        // Nobody left to write to: stop reading the source; the failed sinks get another pass.
        if (live.length === 0 && pending.length > 0) break
      }
      if (live.length > 0 || pending.length === 0) {
        const result = await enc.result
        if (first && result.digest !== first.digest)
          throw errors.planInvalid(
            `layer ${title} encoded to \`${result.digest}\` on a second pass but \`${first.digest}\` on the first`,
            'a source changed its bytes between two reads',
          )
        first ??= result
        await Promise.all([...live].map((w) => w.writer.commit(result).catch((err: unknown) => fail(w, err))))
      }
    } catch (err) {
      await Promise.all(live.map((w) => w.writer.abort().catch(() => {})))
      throw err
    }
    for (const { sink, err } of failed) {
      emit({
        type: 'retry',
        what: `${title} → ${sink.instance.target}`,
        attempt: pass,
        reason: err instanceof Error ? err.message : String(err),
      })
    }
    pending = failed.map((f) => f.sink)
    if (pending.length > 0) await sleep(Math.max(...failed.map((f) => retryDelayMs(f.err, pass))), signal)
  }
  const result = first!
  emit({ type: 'layer-progress', layer: index, bytes: read })
  emit({ type: 'layer-done', layer: index, digest: result.digest, size: result.size })
  return { descriptor: { mediaType: result.mediaType, digest: result.digest, size: result.size }, diffId: result.diffId }
}

/** A blob is streamed to one sink at most this many times before its failure ends the run. */
const MAX_SINK_ATTEMPTS = 5

/** Milliseconds before another pass: what the failure asked for (Retry-After), else exponential. */
function retryDelayMs(err: unknown, pass: number): number {
  const asked = (err as { retryAfterMs?: unknown } | undefined)?.retryAfterMs
  if (typeof asked === 'number' && asked >= 0) return asked
  return Math.min(30_000, 250 * 2 ** (pass - 1))
}

async function copyBaseBlobs(
  base: BaseImage,
  blobs: Descriptor[],
  sinks: Created<SinkInstance>[],
  concurrency: number,
  emit: (e: RunEvent) => void,
  signal: AbortSignal,
): Promise<void> {
  const jobs: { desc: Descriptor; sink: Created<SinkInstance> }[] = []
  for (const sink of sinks) {
    // A sink on the base's own registry may mount the blob here; has() then says true.
    for (const desc of blobs)
      if (!(await guard(sink.type, 'write', () => sink.instance.has(desc, { base: base.name })))) jobs.push({ desc, sink })
  }
  // Copies only wait on I/O (no encoding): twice the layer concurrency keeps a registry busy.
  await mapBounded(jobs, concurrency * 2, async ({ desc, sink }) => {
    if (!base.blobs) throw errors.blobMissing(desc.digest, base.name)
    for (let attempt = 1; ; attempt++) {
      const writer = await guard(sink.type, 'write', () =>
        sink.instance.openBlob({ mediaType: desc.mediaType, size: desc.size, digest: desc.digest, verify: true, attempt }),
      )
      try {
        for await (const chunk of base.blobs.openBlob(desc)) await writer.write(chunk)
        await writer.commit(desc)
        break
      } catch (err) {
        await writer.abort().catch(() => {})
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw errors.blobMissing(desc.digest, base.name)
        if (!isRetryable(err) || attempt >= MAX_SINK_ATTEMPTS || signal.aborted) throw errors.componentFailed(sink.type, 'write', err)
        emit({
          type: 'retry',
          what: `${desc.digest} → ${sink.instance.target}`,
          attempt,
          reason: err instanceof Error ? err.message : String(err),
        })
        await sleep(retryDelayMs(err, attempt), signal)
      }
    }
    emit({ type: 'blob-copy', digest: desc.digest, size: desc.size, sink: sink.instance.target })
  })
}

function titleOf(layer: PlannedLayer, prefix: string): string {
  return layer.files.length === 1 ? `/${prefix}/${layer.files[0]!.target}` : `${layer.files.length} files under /${prefix}`
}

function historyOf(layer: PlannedLayer, prefix: string, mtime: number): NewLayer['history'] {
  return {
    ...(mtime ? { created: new Date(mtime * 1000).toISOString() } : {}),
    created_by: `modelcar: add ${titleOf(layer, prefix)}${layer.modelcard ? ' (model card)' : ''}`,
    comment: 'modelcar',
  }
}

/** SOURCE_DATE_EPOCH (reproducible-builds.org), else 0. */
export function sourceDateEpoch(env: Readonly<Record<string, string | undefined>>): number {
  const v = env.SOURCE_DATE_EPOCH
  if (v === undefined || v === '') return 0
  if (!/^\d+$/.test(v))
    throw errors.argumentInvalid(
      `SOURCE_DATE_EPOCH \`${v}\` is not a number of seconds`,
      'e.g. `SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)`',
    )
  return Number(v)
}

function defaultConcurrency(): number {
  return Math.max(2, Math.min(4, os.availableParallelism()))
}

function loggerFor(type: string, emit: (e: RunEvent) => void): Logger {
  return {
    debug: (message) => emit({ type: 'log', level: 'debug', message, component: type }),
    info: (message) => emit({ type: 'log', level: 'info', message, component: type }),
    warn: (message) => emit({ type: 'warning', message, component: type }),
  }
}
