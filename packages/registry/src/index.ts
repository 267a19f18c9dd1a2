// @modelcar/registry: the OCI distribution client and registry authentication.
export { RegistryClient, streamAgain } from './client/registry-client.js'
export {
  parseImageReference,
  formatImageReference,
  registryBaseUrl,
  isLoopbackHost,
  IMAGE_REFERENCE_PATTERN,
  type ImageReference,
} from './client/image-reference.js'
export { uploadStrategyFor, type UploadMode, type UploadStrategy } from './client/upload-strategy.js'
export { registryErrors } from './client/registry-errors.js'
export * from './auth/index.js'
