// The component contract: sources list and open files, transforms reshape the plan, sinks take
// blobs and commit an image. A component is a plain object; its `type` names it everywhere.
import type { Static, TObject } from '@sinclair/typebox'
import type { BlobWriter } from '../oci/image-layout.js'
import type { EditedImage } from '../oci/edit-image.js'
import type { Descriptor } from '../oci/types.js'
import type { Plan } from '../plan/plan.js'
import type { ComponentContext } from './context.js'
import type { ModelFile } from './model-file.js'

export type ComponentKind = 'source' | 'transform' | 'sink'

export interface SourceInstance {
  /** The files, metadata only. Called once; no model byte is read here. */
  list(): AsyncIterable<ModelFile>
  /** Manifest annotations the source contributes (provenance), known once `list()` finished. */
  annotations?(): Record<string, string>
  /** The path (as listed) of the file that is this model's card, if the source knows one. A `modelcard` transform overrides it. */
  modelcard?(): string | undefined
}

export interface TransformInstance {
  apply(plan: Plan): Plan | Promise<Plan>
}

export interface CommitResult {
  /** Where the image went, for messages: `oci-layout:./out:latest`. */
  ref: string
  digest: string
}

export interface SinkInstance {
  /** Human form of the target: `oci-layout:./out:latest`. */
  readonly target: string
  /** Cheap checks before any byte moves (the target is writable, reachable, authorized). */
  check?(): Promise<void>
  /** Called once before blobs arrive. */
  prepare?(): Promise<void>
  /**
   * True when the sink already holds the blob (it is then skipped). `from.base` names the base
   * image the blob belongs to (`registry:host/repo:tag`), so a sink on the same registry may
   * mount it instead of receiving the bytes.
   */
  has(desc: Descriptor, from?: { base?: string }): Promise<boolean>
  /**
   * A blob as a stream. `verify: false` means the engine computed the digest from these very
   * bytes; a sink that receives bytes from elsewhere (a base layer) is asked to verify.
   */
  openBlob(hint: BlobHint): Promise<BlobWriter>
  /** Writes configs, manifests and indexes and points the tag at the new image. */
  commit(image: EditedImage): Promise<CommitResult>
  /** Called when the run failed after prepare(): nothing may remain half-written. */
  abort?(): Promise<void>
}

export interface BlobHint {
  mediaType: string
  size?: number
  verify: boolean
  /**
   * Known when the blob's digest is known before its bytes flow: a base blob, or a new layer
   * streamed again after a sink's retryable failure (the encoder is deterministic).
   */
  digest?: string
  /** The layer's annotations (title, content digest), for a sink that recognises layers it holds. */
  annotations?: Record<string, string>
  /** 1 for the first stream of this blob to this sink, 2 and up when it is streamed again. */
  attempt?: number
}

interface ComponentBase<K extends ComponentKind, S extends TObject, I> {
  kind: K
  /** Names the component in recipes, logs and errors. */
  type: string
  /** One line for the reference docs. */
  description: string
  /** Validates the config and documents it: every field with a description, default and example. */
  schema: S
  create(config: Static<S>, ctx: ComponentContext): I | Promise<I>
}

export type SourceComponent<S extends TObject = TObject> = ComponentBase<'source', S, SourceInstance>
export type TransformComponent<S extends TObject = TObject> = ComponentBase<'transform', S, TransformInstance>
export type SinkComponent<S extends TObject = TObject> = ComponentBase<'sink', S, SinkInstance>
// `any` config: a registry holds components of every schema; each validates its own config.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Component = SourceComponent<any> | TransformComponent<any> | SinkComponent<any>

type Definition<C extends { kind: ComponentKind }> = Omit<C, 'kind'>

/**
 * Declares a source. The default export of a plugin package (`modelcar-source-<name>`) is one.
 *
 * @example
 * ```ts
 * import { defineSource, ModelcarError, Type } from '@modelcar/core'
 *
 * export default defineSource({
 *   type: 'mystore',
 *   description: 'Models from the MyStore registry.',
 *   schema: Type.Object({ model: Type.String({ description: 'Model name.', examples: ['fraud'] }) }, { additionalProperties: false }),
 *   create(config, ctx) {
 *     return {
 *       async *list() {
 *         const res = await ctx.fetch(`https://mystore.example/api/${config.model}`)
 *         if (!res.ok) throw new ModelcarError('COMPONENT_FAILED', `[GET] ${res.url}: ${res.status}`)
 *         for (const f of (await res.json()) as { name: string; size: number; url: string }[]) {
 *           yield {
 *             path: f.name,
 *             size: f.size,
 *             open: async ({ start = 0, signal } = {}) =>
 *               (await ctx.fetch(f.url, { headers: { range: `bytes=${start}-` }, signal })).body as unknown as AsyncIterable<Uint8Array>,
 *           }
 *         }
 *       },
 *     }
 *   },
 * })
 * ```
 * Rules (checked by `assertSourceCompliance` from @modelcar/testing): all I/O through `ctx`, never
 * `process.env` or printing; `list()` is stable and reads no model byte; `size` is exact;
 * `open({ start })` yields the bytes from `start`; failures are `ModelcarError`s. Guide:
 * docs/write-your-own-source.md.
 */
export function defineSource<S extends TObject>(def: Definition<SourceComponent<S>>): SourceComponent<S> {
  return { kind: 'source', ...def }
}
/** Declares a transform: `apply(plan)` returns the plan reshaped (files, layers, annotations). */
export function defineTransform<S extends TObject>(def: Definition<TransformComponent<S>>): TransformComponent<S> {
  return { kind: 'transform', ...def }
}
/**
 * Declares a sink: it takes blobs as streams (`openBlob`), then `commit(image)` points its tag at
 * the new image; `abort()` must leave nothing of a failed run. Check one with `assertSinkCompliance`.
 */
export function defineSink<S extends TObject>(def: Definition<SinkComponent<S>>): SinkComponent<S> {
  return { kind: 'sink', ...def }
}
