// The component contract: sources list and open files, transforms reshape the plan, sinks take
// blobs and commit an image, bases load the image the model goes on. A component is a plain
// object; its `type` names it in recipes, logs and errors.
import type { TObject } from '@sinclair/typebox'
import type { Descriptor } from '../oci/types.js'
import type { Attachment } from './attachment.js'
import type { BaseImage } from './base.js'
import type { BlobHint, BlobOrigin, BlobWriter } from './blob.js'
import type { Config } from './config.js'
import type { ComponentContext } from './context.js'
import type { EditedImage } from './image.js'
import type { ModelFile } from './model-file.js'
import type { Plan } from './plan.js'

export type ComponentKind = 'source' | 'transform' | 'sink' | 'base'

export interface SourceInstance {
  /** The files, metadata only. Called once; no model byte is read here. */
  list(): AsyncIterable<ModelFile>
  /** Manifest annotations the source contributes (provenance), known once `list()` finished. */
  annotations?(): Record<string, string>
  /** The path (as listed) of the file that is this model's card, if the source knows one. A `modelcard` transform overrides it. */
  modelcard?(): string | undefined
}

export interface TransformInstance {
  /**
   * The plan reshaped: files renamed, added, dropped or grouped (`layer`), derived files added,
   * annotations and labels set. Return a new plan; do not change the one given. Transforms run in
   * recipe order, and the engine groups files into layers after the last one.
   */
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
  /** Called once before blobs arrive (take a lock, open a session). */
  prepare?(): Promise<void>
  /**
   * True when the sink already holds the blob: it is then not sent. `origin` says where a base
   * blob lives in a registry, so a sink on that registry may mount it and answer true.
   */
  has(desc: Descriptor, origin?: BlobOrigin): Promise<boolean>
  /** A blob as a stream (see BlobWriter). */
  openBlob(hint: BlobHint): Promise<BlobWriter>
  /**
   * The layers of the image the target holds now (the registry's manifest at the tag, the
   * layout's tagged image), with their annotations: the engine finds there the layers a file was
   * already made into and does not read the file again. After prepare(); empty when there is none.
   */
  heldLayers?(): Promise<Descriptor[]>
  /**
   * Writes configs, manifests and indexes and points the tag at the new image. Must refuse an
   * image whose blobs it does not hold, and release what prepare() took.
   */
  commit(image: EditedImage): Promise<CommitResult>
  /**
   * Stores what the recipe attaches to the image (`attach:`, `sign:`): referrers (manifests whose
   * `subject` is the image) with their blobs, and cosign signatures at their tag, added to those
   * already there. Attachments already held are not added again. Called after every successful
   * commit(), with an empty list when the recipe attaches nothing. A sink without it cannot take a
   * recipe that attaches anything (the run refuses it before any byte moves).
   */
  attach?(attachments: readonly Attachment[]): Promise<void>
  /**
   * The repository the image is stored in, as a signature names it (cosign's `docker-reference`):
   * `127.0.0.1:5000/models/tiny`. Undefined for a sink that is no registry (a layout).
   */
  readonly repository?: string
  /** The run failed after prepare(): nothing of it may remain (no blob, no temporary file), and what prepare() took is released. */
  abort?(): Promise<void>
}

export interface BaseInstance {
  /** Reads the base's documents (its blobs travel later, by reference). `platforms` is the recipe's, for bases that make images from nothing. */
  load(opts: { platforms: string[] }): Promise<BaseImage>
}

interface ComponentBase<K extends ComponentKind, S extends TObject, I> {
  kind: K
  /** Names the component in recipes, logs and errors. */
  type: string
  /** One line for the reference docs. */
  description: string
  /** Validates the config and documents it: every field with a description, default and example. */
  schema: S
  /** The instance for one run. `config` is validated, with every default applied. */
  create(config: Config<S>, ctx: ComponentContext): I | Promise<I>
}

export type SourceComponent<S extends TObject = TObject> = ComponentBase<'source', S, SourceInstance>
export type TransformComponent<S extends TObject = TObject> = ComponentBase<'transform', S, TransformInstance>
export type SinkComponent<S extends TObject = TObject> = ComponentBase<'sink', S, SinkInstance>
export type BaseComponent<S extends TObject = TObject> = ComponentBase<'base', S, BaseInstance> & {
  /** How the short form reads, for hints and docs: `oci-layout:PATH[:TAG]`. */
  shortForm: string
  /**
   * The short form a recipe may write, `TYPE:TEXT` (`registry:quay.io/org/busybox:1.36`), as a
   * config: TEXT is what follows the colon (empty for a bare `scratch`). A `problem` when TEXT
   * cannot be one (the schema then checks the config as for the long form).
   */
  fromText(text: string): Record<string, unknown> | { problem: string; hint?: string }
}
// `any` config: a registry holds components of every schema; each validates its own config.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Component = SourceComponent<any> | TransformComponent<any> | SinkComponent<any> | BaseComponent<any>

type Definition<C extends { kind: ComponentKind }> = Omit<C, 'kind'>

/**
 * Declares a source. The default export of a plugin package (`modelcar-source-<name>`) is one.
 * Rules (checked by `assertSourceCompliance` from @modelcar/testing): all I/O through `ctx`, never
 * `process.env` or printing; `list()` is stable and reads no model byte; `size` is exact;
 * `open({ start })` yields the bytes from `start`; failures are `ModelcarError`s. Guide:
 * docs/plugins/write-a-source.md.
 */
export function defineSource<S extends TObject>(def: Definition<SourceComponent<S>>): SourceComponent<S> {
  return { kind: 'source', ...def }
}

/**
 * Declares a transform: `apply(plan)` returns the plan reshaped (files, derived files, grouping,
 * annotations). Check one with `assertTransformCompliance`; guide: docs/plugins/write-a-transform.md.
 */
export function defineTransform<S extends TObject>(def: Definition<TransformComponent<S>>): TransformComponent<S> {
  return { kind: 'transform', ...def }
}

/**
 * Declares a sink: it takes blobs as streams (`openBlob`), then `commit(image)` points its tag at
 * the new image; `abort()` must leave nothing of a failed run. Check one with
 * `assertSinkCompliance`; guide: docs/plugins/write-a-sink.md.
 */
export function defineSink<S extends TObject>(def: Definition<SinkComponent<S>>): SinkComponent<S> {
  return { kind: 'sink', ...def }
}

/** Declares a base: `base: TYPE:TEXT` (or a mapping with `type:`) in a recipe loads it. */
export function defineBase<S extends TObject>(def: Definition<BaseComponent<S>>): BaseComponent<S> {
  return { kind: 'base', ...def }
}
