// @modelcar/registry: an OCI distribution client on fetch and registry authentication, for the
// registry sink and base of @modelcar/sink-registry and anything else that reads or pushes images.
export { RegistryClient, type Manifest, type RegistryClientOptions, type SendInit } from './client/registry-client.js'
export { registryClientFor, registryAuthFor, type ClientForOptions } from './client/client-for.js'
export { openUpload } from './client/blob-uploads.js'
export { uploadStrategyFor, type UploadMode, type UploadStrategy } from './client/upload-strategy.js'
export { registryErrors, type RefusalContext } from './client/registry-errors.js'
export {
  parseImageReference,
  formatImageReference,
  registryBaseUrl,
  isLoopbackHost,
  IMAGE_REFERENCE_PATTERN,
  type ImageReference,
} from './distribution/image-reference.js'
export { parseDistributionErrors, describeDistributionErrors, type DistributionError } from './distribution/error-body.js'
export * from './auth/index.js'
