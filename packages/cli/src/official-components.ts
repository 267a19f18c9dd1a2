// The components the CLI knows by their short names.
import { createCoreRegistry, type ComponentRegistry } from '@modelcar/core'
import { hfSource } from '@modelcar/source-hf'
import { orasSink, skopeoSink } from '@modelcar/sink-registry'

export function officialRegistry(): ComponentRegistry {
  return createCoreRegistry().register(hfSource).register(skopeoSink).register(orasSink)
}
