export { skopeoSink, skopeoSinkSchema, skopeoCopyArgs, type SkopeoCopy } from './skopeo-sink.js'
export { orasSink, orasSinkSchema, orasCopyArgs, type OrasCopy } from './oras-sink.js'
