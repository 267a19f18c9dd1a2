// @modelcar/sink-registry: sink `registry`, base `registry`, sinks `skopeo` and `oras`. The
// registry client and authentication they use are @modelcar/registry's.
export * from './shell/index.js'
export { registrySink, registrySinkSchema } from './registry-sink.js'
export { registryBase, registryBaseSchema } from './registry-base.js'
export { registryAttachedImage, signedRepository } from './attachments/registry-attachments.js'
