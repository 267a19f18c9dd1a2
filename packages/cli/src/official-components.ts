// The components the CLI knows by their short names.
import { createCoreRegistry, type ComponentRegistry } from '@modelcar/core'
import { hfSource } from '@modelcar/source-hf'
import { s3Source } from '@modelcar/source-s3'
import { orasSink, skopeoSink } from '@modelcar/sink-registry'

export function officialRegistry(): ComponentRegistry {
  return createCoreRegistry().register(hfSource).register(s3Source).register(skopeoSink).register(orasSink)
}
