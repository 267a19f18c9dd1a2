// @modelcar/source-s3: source `s3`, objects of an S3-compatible bucket streamed into layers.
import { s3Source } from './s3-source.js'

export { s3Source, s3SourceSchema } from './s3-source.js'
export { contentDigest } from './s3-object.js'
export { clientSettings, readProfile } from './s3-settings.js'
export default s3Source
