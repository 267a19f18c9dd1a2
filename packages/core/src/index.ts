// @modelcar/core: the public surface, for plugin authors and for the CLI. Sections, from what
// every plugin uses to what only the engine's callers need. Every export is described in
// docs/plugins/sdk.md (a test keeps the two in step).

// ---- The component contract (docs/plugins/) -------------------------------------------------
export * from './contract/component.js'
export { withDefault, configFor, type Config, type TWithDefault } from './contract/config.js'
export type { ComponentContext, Logger } from './contract/context.js'
export { silentLogger } from './contract/context.js'
export type { ModelFile, OpenOptions } from './contract/model-file.js'
export type { BlobWriter, BlobHint, BlobOrigin, StreamAgain } from './contract/blob.js'
export type { BaseImage, BlobSource } from './contract/base.js'
export type { EditedImage, ImageDocument, PlatformImage, DocumentKind } from './contract/image.js'
export type {
  Attachment,
  ReferrerAttachment,
  TaggedSignatureAttachment,
  AttachmentBlob,
  AttachedImage,
  StoredDocument,
} from './contract/attachment.js'
export type {
  Plan,
  PlannedFile,
  PlannedLayer,
  DerivedFile,
  StreamedFile,
  LayeringOptions,
  LayerStrategy,
  Compression,
} from './contract/plan.js'
export { DEFAULT_MAX_LAYERS } from './contract/plan.js'
export type { RunEvent } from './contract/events.js'
export { ComponentRegistry, type ComponentOfKind } from './contract/registry.js'
// Plugin authors write schemas with TypeBox; re-exported so a plugin needs no second copy of it.
export { Type, type Static, type TObject, type TSchema } from '@sinclair/typebox'

// ---- Errors -----------------------------------------------------------------------------------
export * from './errors/index.js'

// ---- Helpers for sources: paths, selection, streams ------------------------------------------
export { safeModelPath, normalizePrefix, joinModelPath } from './files/model-path.js'
export { globFilter, unmatchedPatterns, type GlobFilter } from './files/glob-filter.js'
export { selectFiles, type SelectOptions } from './files/select-files.js'
export { skipBytes } from './streams/skip-bytes.js'
export { collectExternalMemory, FILE_READ_BYTES } from './streams/external-memory.js'
export { mapBounded } from './pipeline/bounded.js'
export { parseByteSize, formatBytes, BYTE_SIZE_PATTERN } from './recipe/byte-size.js'

// ---- HTTP: retries, redirects, errors ---------------------------------------------------------
export * from './http/index.js'

// ---- OCI: media types, digests, layouts, images ----------------------------------------------
export * from './oci/media-types.js'
export type * from './oci/types.js'
export { sha256Digest, isDigest, encodeJson } from './oci/digest.js'
export { ImageLayout, emptyIndex } from './image/image-layout.js'
export { loadLayoutBase, scratchBase, loadDocuments, selectRoot, parsePlatform } from './image/base-image.js'
export { editImage, type ImageEdit, type NewLayer } from './image/edit-image.js'
export { encodeLayer, mediaTypeFor, type EncodedLayer, type LayerFileEntry } from './layer/layer-encoder.js'
export {
  ModelPackMediaType,
  ModelPackAnnotation,
  layerMediaType,
  isModelPackLayerMediaType,
  type LayerKind,
  type LayerEncoding,
} from './modelpack/media-types.js'
export type { ModelPackConfig, ModelPackDescriptor, ModelPackModelConfig } from './modelpack/config-schema.js'
export { modelPackManifestOf } from './image/modelpack-image.js'

// ---- Supply chain: attachments, signatures, verification (docs/supply-chain.md) --------------
export { holdsReferrer, referrerEntry, ATTACHMENT_KEY } from './attach/referrer-manifest.js'
export { signatureImage } from './attach/signature-image.js'
export { layoutAttachedImage } from './attach/layout-attachments.js'
export { CYCLONEDX_MEDIA_TYPE } from './attach/cyclonedx-sbom.js'
export { IN_TOTO_MEDIA_TYPE, SLSA_PROVENANCE } from './attach/slsa-provenance.js'
export { COSIGN_SIGN_PREDICATE } from './attach/build-attachments.js'
export { signatureTag, simpleSigningPayload, CosignAnnotation, CosignMediaType } from './sign/cosign-signature.js'
export { preAuthEncoding, DSSE_MEDIA_TYPE, type DsseEnvelope } from './sign/dsse.js'
export { SIGSTORE_BUNDLE_MEDIA_TYPE } from './sign/keyless.js'
export { sealCosignKey, pemBlock } from './sign/cosign-key-file.js'
export { loadSigningKey, loadVerifyingKey, type SigningKey, type VerifyingKey } from './sign/signing-key.js'
export { verifyImage, type VerifyOptions, type VerifyReport, type KeylessPolicy, type CheckedAttachment } from './sign/verify-image.js'

// ---- Built-in components ----------------------------------------------------------------------
export { coreComponents, createCoreRegistry } from './builtins.js'
export { localSource } from './sources/local.js'
export { modelcardTransform } from './transforms/modelcard.js'
export { annotateTransform } from './transforms/annotate.js'
export { layersTransform } from './transforms/layers.js'
export { ociLayoutSink } from './sinks/oci-layout.js'
export { scratchBaseComponent } from './bases/scratch.js'
export { ociLayoutBase, splitLayoutRef } from './bases/oci-layout.js'

// ---- The engine: recipes and runs (for the CLI and other callers) ----------------------------
export {
  loadRecipe,
  parseRecipe,
  namedComponents,
  type Recipe,
  type LoadRecipeOptions,
  type ComponentEntry,
  type ComponentResolver,
  type ResolvedComponent,
  type Override,
} from './recipe/load-recipe.js'
export { recipeJsonSchema } from './recipe/json-schema.js'
export { loadCatalog, parseCatalog, isCatalogText, type Catalog, type CatalogModel } from './catalog/load-catalog.js'
export { shardOf } from './catalog/shards.js'
export { CatalogSchema } from './catalog/catalog-schema.js'
export { catalogJsonSchema } from './catalog/catalog-json-schema.js'
export { API_VERSION } from './recipe/recipe-schema.js'
export { expandEnv } from './recipe/expand-env.js'
export { runRecipe, defaultConcurrency, type RunOptions, type RunResult, type PlannedLayerResult } from './pipeline/run-recipe.js'
export { sourceDateEpoch } from './pipeline/layer-history.js'
export { readModelFile, type ReadOptions } from './pipeline/read-model-file.js'
export { planLayers } from './plan/plan-layers.js'
