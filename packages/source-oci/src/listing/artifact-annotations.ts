// What the Modelcar's manifest says of the artifact it was made from: its manifest digest and
// kind, the registry reference (a layout's path is this machine's, so it is left out), and what a
// ModelPack config's descriptor says of the model's source, revision and licenses.
import type { ImageManifest } from '@modelcar/core'
import type { BlobStore } from '../store/blob-store.js'
import type { ModelManifest } from './model-manifest.js'

export async function artifactAnnotations(
  store: BlobStore,
  model: ModelManifest,
  reference: string | undefined,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {
    'modelcar.oci.artifact': model.format,
    'modelcar.oci.digest': model.descriptor.digest,
  }
  if (reference) out['modelcar.oci.ref'] = reference
  if (model.format !== 'modelpack') return out
  const descriptor = await modelPackDescriptor(store, model.manifest)
  if (typeof descriptor.sourceURL === 'string' && descriptor.sourceURL) out['org.opencontainers.image.source'] = descriptor.sourceURL
  if (typeof descriptor.revision === 'string' && descriptor.revision) out['org.opencontainers.image.revision'] = descriptor.revision
  const licenses = Array.isArray(descriptor.licenses)
    ? descriptor.licenses.filter((l): l is string => typeof l === 'string' && l !== '')
    : []
  // Each entry is an SPDX expression; all of them apply.
  if (licenses.length)
    out['org.opencontainers.image.licenses'] = licenses.length === 1 ? licenses[0]! : licenses.map((l) => `(${l})`).join(' AND ')
  return out
}

/** The config's `descriptor` object; empty when the config is too large to be one, or unreadable. */
async function modelPackDescriptor(store: BlobStore, manifest: ImageManifest): Promise<Record<string, unknown>> {
  if (!manifest.config || manifest.config.size > 1 << 20) return {}
  try {
    const config = JSON.parse(Buffer.from(await store.readDocument(manifest.config)).toString('utf8')) as { descriptor?: unknown }
    return config.descriptor && typeof config.descriptor === 'object' ? (config.descriptor as Record<string, unknown>) : {}
  } catch {
    return {}
  }
}
