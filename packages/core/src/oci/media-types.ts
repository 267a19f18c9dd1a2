// Media types and annotation keys of the OCI image spec, Docker's v2 formats, and Open Data Hub.

export const MediaType = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociLayerNondistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerLayerForeignGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  inToto: 'application/vnd.in-toto+json',
  dockerAttestationManifest: 'application/vnd.docker.attestation.manifest.v1+json',
} as const

export const isIndexMediaType = (t: string | undefined): boolean => t === MediaType.ociIndex || t === MediaType.dockerManifestList

export const isManifestMediaType = (t: string | undefined): boolean => t === MediaType.ociManifest || t === MediaType.dockerManifest

/** Docker media types and their OCI equivalents (same bytes, other name). */
export const DOCKER_TO_OCI: Readonly<Record<string, string>> = {
  [MediaType.dockerManifestList]: MediaType.ociIndex,
  [MediaType.dockerManifest]: MediaType.ociManifest,
  [MediaType.dockerConfig]: MediaType.ociConfig,
  [MediaType.dockerLayerGzip]: MediaType.ociLayerGzip,
  [MediaType.dockerLayerForeignGzip]: MediaType.ociLayerNondistributableGzip,
  'application/vnd.docker.image.rootfs.diff.tar': MediaType.ociLayer,
}

export const toOciMediaType = (t: string): string => DOCKER_TO_OCI[t] ?? t

export const Annotation = {
  refName: 'org.opencontainers.image.ref.name',
  title: 'org.opencontainers.image.title',
  source: 'org.opencontainers.image.source',
  revision: 'org.opencontainers.image.revision',
  created: 'org.opencontainers.image.created',
  /** On the model card layer (what Open Data Hub and olot use). */
  odhLayerType: 'io.opendatahub.modelcar.layer.type',
  /** On the manifest: the digest of the model card layer. */
  odhModelcard: 'io.opendatahub.layers.modelcard',
  /** Provenance of a layer's content. */
  origin: 'modelcar.origin',
  /** What a layer was made from (a later run reuses it instead of reading the file again). */
  contentDigest: 'modelcar.content.digest',
  contentId: 'modelcar.content.id',
  fileSize: 'modelcar.file.size',
  fileMode: 'modelcar.file.mode',
  layerEncoding: 'modelcar.layer.encoding',
  /** A compressed layer's diff_id (its uncompressed digest). */
  layerDiffId: 'modelcar.layer.diffid',
  /** olot's names for the same facts, so tools that read olot's annotations understand ours. */
  olotContentDigest: 'olot.layer.content.digest',
  olotContentName: 'olot.layer.content.name',
  dockerReferenceDigest: 'vnd.docker.reference.digest',
  dockerReferenceType: 'vnd.docker.reference.type',
} as const

/** A tag (`org.opencontainers.image.ref.name` in a layout, a registry tag): the OCI distribution rule. */
export const TAG_PATTERN = '^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$'
