// The components the CLI knows by their short names, and the packages they come from (a CLI
// installed without one of them names the package to install).
import { createCoreRegistry, type ComponentKind, type ComponentRegistry } from '@modelcar/core'
import { hfSource } from '@modelcar/source-hf'
import { ociSource } from '@modelcar/source-oci'
import { s3Source } from '@modelcar/source-s3'
import { orasSink, registryBase, registrySink, skopeoSink } from '@modelcar/sink-registry'

export function officialRegistry(): ComponentRegistry {
  return createCoreRegistry()
    .register(hfSource)
    .register(s3Source)
    .register(ociSource)
    .register(registrySink)
    .register(skopeoSink)
    .register(orasSink)
    .register(registryBase)
}

/** Official components that live in packages of their own. */
const OFFICIAL_PACKAGES: Readonly<Record<string, string>> = {
  'source:hf': '@modelcar/source-hf',
  'source:s3': '@modelcar/source-s3',
  'source:oci': '@modelcar/source-oci',
  'sink:registry': '@modelcar/sink-registry',
  'sink:oras': '@modelcar/sink-registry',
  'sink:skopeo': '@modelcar/sink-registry',
  'base:registry': '@modelcar/sink-registry',
}

/** The npm package a recipe's `type` names: an official one, a full package name, or `modelcar-<kind>-<type>`. */
export function pluginPackageName(kind: ComponentKind, type: string): string {
  const official = OFFICIAL_PACKAGES[`${kind}:${type}`]
  if (official) return official
  return type.startsWith('@') || type.includes('/') || type.startsWith('modelcar-') ? type : `modelcar-${kind}-${type}`
}
