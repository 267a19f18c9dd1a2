// The components the CLI knows by their short names.
import { createCoreRegistry, type ComponentRegistry } from '@modelcar/core'

export function officialRegistry(): ComponentRegistry {
  return createCoreRegistry()
}
