// The components the CLI knows by their short names, and the base kinds beyond the core's own.
import { createCoreRegistry, type ComponentRegistry } from '@modelcar/core'
import { hfSource } from '@modelcar/source-hf'
import { s3Source } from '@modelcar/source-s3'
import { loadRegistryBase, orasSink, registrySink, skopeoSink } from '@modelcar/sink-registry'

export function officialRegistry(): ComponentRegistry {
  return createCoreRegistry().register(hfSource).register(s3Source).register(registrySink).register(skopeoSink).register(orasSink)
}

/** Reads `base: registry:…` for runRecipe. */
export const loadBase = loadRegistryBase
