// Which model artifact a manifest is, by its artifactType and its config's media type; and, for
// one that is none, words for what it is (a container image for linux/amd64, a Helm chart's
// artifact type), so the error tells the user what they pointed at.
import { MediaType, type ImageManifest } from '@modelcar/core'
import { DockerModel, ModelKit, ModelPack, type ArtifactFormat } from './model-media-types.js'

/** The model artifact format of a manifest; undefined when it is not one. */
export function artifactFormatOf(manifest: Pick<ImageManifest, 'artifactType' | 'config'>): ArtifactFormat | undefined {
  const artifactType = manifest.artifactType
  const config = manifest.config?.mediaType
  if (
    (artifactType && (ModelPack.manifest as readonly string[]).includes(artifactType)) ||
    (ModelPack.config as readonly string[]).includes(config)
  )
    return 'modelpack'
  if (config?.startsWith(DockerModel.configPrefix)) return 'docker-model'
  if (artifactType === ModelKit.manifest || config === ModelKit.config) return 'modelkit'
  return undefined
}

/** Human words for an artifact format, in messages and annotations. */
export const FORMAT_NAMES: Readonly<Record<ArtifactFormat, string>> = {
  modelpack: 'a CNCF ModelPack artifact',
  'docker-model': 'a Docker model artifact',
  modelkit: 'a KitOps ModelKit',
}

const CONTAINER_CONFIGS = new Set<string>([MediaType.ociConfig, MediaType.dockerConfig])

/** What a manifest that is no model artifact is: `a container image (linux/amd64)`, `an OCI artifact of type `…``. */
export function describeManifest(manifest: Pick<ImageManifest, 'artifactType' | 'config'>, platform?: string): string {
  const config = manifest.config?.mediaType
  if (!manifest.artifactType && config && CONTAINER_CONFIGS.has(config)) return `a container image${platform ? ` (${platform})` : ''}`
  const type = manifest.artifactType || config
  if (type === MediaType.ociEmpty || !type) return 'an OCI artifact with no type'
  return `an OCI artifact of type \`${type}\``
}

/** `linux/arm64/v8` from a platform or an image config. */
export function platformText(p: { os?: unknown; architecture?: unknown; variant?: unknown } | undefined): string | undefined {
  if (!p || typeof p.os !== 'string' || typeof p.architecture !== 'string') return undefined
  return [p.os, p.architecture, typeof p.variant === 'string' ? p.variant : undefined].filter(Boolean).join('/')
}
