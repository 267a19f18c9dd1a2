// @modelcar/sink-registry: sink `registry`, registry bases, sinks `skopeo` and `oras`.
export * from './shell/index.js'
export { registrySink, registrySinkSchema } from './registry-sink.js'
export { registryBase, registryBaseSchema } from './registry-base.js'
export { RegistryClient } from './client/registry-client.js'
export {
  parseImageReference,
  formatImageReference,
  registryBaseUrl,
  isLoopbackHost,
  type ImageReference,
} from './client/image-reference.js'
export { uploadStrategyFor, type UploadMode, type UploadStrategy } from './client/upload-strategy.js'
