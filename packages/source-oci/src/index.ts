// @modelcar/source-oci: source `oci`, the files of a model artifact (CNCF ModelPack, Docker model,
// KitOps ModelKit) from an image layout or a registry, streamed into Modelcar layers.
import { ociSource } from './oci-source.js'

export { ociSource, ociSourceSchema } from './oci-source.js'
export default ociSource
