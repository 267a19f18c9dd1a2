// The components the CLI knows by their short names, and the base kinds beyond the core's own.
import { createCoreRegistry, type ComponentRegistry } from '@modelcar/core'
import { hfSource } from '@modelcar/source-hf'
import { loadRegistryBase, registrySink } from '@modelcar/sink-registry'

export function officialRegistry(): ComponentRegistry {
  return createCoreRegistry().register(hfSource).register(registrySink)
}

/** Reads `base: registry:…` for runRecipe. */
export const loadBase = loadRegistryBase
