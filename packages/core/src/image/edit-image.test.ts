import { describe, expect, it } from 'vitest'
import type { BaseImage } from '../contract/base.js'
import { encodeJson, sha256Digest } from '../oci/digest.js'
import { editImage, type ImageEdit } from './edit-image.js'
import { MediaType } from '../oci/media-types.js'
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest } from '../oci/types.js'

/** Builds a base image graph in memory: documents by digest, like loadLayoutBase reads them. */
class GraphBuilder {
  documents = new Map<string, Uint8Array>()
  add(doc: unknown, mediaType: string, extra: Partial<Descriptor> = {}): Descriptor {
    const bytes = encodeJson(doc)
    const d = { mediaType, digest: sha256Digest(bytes), size: bytes.byteLength, ...extra }
    this.documents.set(d.digest, bytes)
    return d
  }
  image(arch: string, opts: { docker?: boolean; history?: boolean; extra?: Record<string, unknown> } = {}): Descriptor {
    const layer: Descriptor = {
      mediaType: opts.docker ? MediaType.dockerLayerGzip : MediaType.ociLayerGzip,
      digest: sha256Digest(`layer-${arch}`),
      size: 100,
    }
    const config: ImageConfig = {
      created: '2024-01-02T03:04:05.123456789Z',
      architecture: arch,
      os: 'linux',
      config: { Cmd: ['sh'], Healthcheck: { Test: ['NONE'] }, Labels: { base: 'yes' } },
      rootfs: { type: 'layers', diff_ids: [sha256Digest(`diff-${arch}`)] },
      ...(opts.history === false ? {} : { history: [{ created_by: 'ADD rootfs' }, { created_by: 'CMD', empty_layer: true }] }),
      ...(opts.extra ?? {}),
    }
    const configDesc = this.add(config, opts.docker ? MediaType.dockerConfig : MediaType.ociConfig)
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: opts.docker ? MediaType.dockerManifest : MediaType.ociManifest,
      config: configDesc,
      layers: [layer],
    }
    return this.add(manifest, manifest.mediaType!, { platform: { architecture: arch, os: 'linux' } })
  }
  base(root: Descriptor): BaseImage {
    return { name: 'oci-layout:test', root, documents: this.documents, blobs: undefined, platforms: [] }
  }
}

const newLayer = (name: string) => ({
  descriptor: {
    mediaType: MediaType.ociLayer,
    digest: sha256Digest(name),
    size: 10,
    annotations: { 'org.opencontainers.image.title': name },
  },
  diffId: sha256Digest(name),
  history: { created_by: `modelcar: add /models/${name}` },
})

const edit = (over: Partial<ImageEdit> = {}): ImageEdit => ({
  layers: [newLayer('a.bin'), newLayer('README.md')],
  manifestAnnotations: { k: 'v' },
  labels: { team: 'ml' },
  ...over,
})

function json<T>(image: { documents: { descriptor: Descriptor; bytes: Uint8Array }[] }, d: Descriptor): T {
  const doc = image.documents.find((x) => x.descriptor.digest === d.digest)
  if (!doc) throw new Error(`no document ${d.digest}`)
  return JSON.parse(Buffer.from(doc.bytes).toString()) as T
}

describe('editImage', () => {
  it('appends layers, keeps diff_ids and history in step, keeps unknown fields verbatim', async () => {
    const g = new GraphBuilder()
    const root = g.image('amd64', { extra: { 'moby.buildkit.buildinfo.v1': 'e30=' } })
    const out = await editImage(g.base(root), edit())
    const manifest = json<ImageManifest>(out, out.root)
    expect(manifest.layers.map((l) => l.digest)).toEqual([sha256Digest('layer-amd64'), sha256Digest('a.bin'), sha256Digest('README.md')])
    expect(manifest.annotations).toMatchObject({ k: 'v', 'org.opencontainers.image.base.digest': root.digest })
    const config = json<ImageConfig>(out, manifest.config)
    expect(config.rootfs!.diff_ids).toHaveLength(3)
    expect(config.history!.filter((h) => !h.empty_layer)).toHaveLength(3)
    expect(config.created).toBe('2024-01-02T03:04:05.123456789Z')
    expect(config['moby.buildkit.buildinfo.v1']).toBe('e30=')
    expect(config.config).toEqual({ Cmd: ['sh'], Healthcheck: { Test: ['NONE'] }, Labels: { base: 'yes', team: 'ml' } })
    expect(out.baseBlobs.map((b) => b.digest)).toEqual([sha256Digest('layer-amd64')])
    expect(out.rewritten.get(root.digest)?.digest).toBe(out.root.digest)
  })

  it('is idempotent: editing its own output with the same layers changes nothing', async () => {
    const g = new GraphBuilder()
    const first = await editImage(g.base(g.image('amd64')), edit())
    const again = new GraphBuilder()
    for (const d of first.documents) again.documents.set(d.descriptor.digest, d.bytes)
    const second = await editImage(again.base(first.root), edit())
    expect(second.root.digest).toBe(first.root.digest)
    expect(second.images[0]!.added).toBe(0)
  })

  it('converts a Docker manifest list to OCI and gives every platform the same layers', async () => {
    const g = new GraphBuilder()
    const amd = g.image('amd64', { docker: true })
    const arm = g.image('arm64', { docker: true })
    const list = g.add({ schemaVersion: 2, mediaType: MediaType.dockerManifestList, manifests: [amd, arm] }, MediaType.dockerManifestList)
    const out = await editImage(g.base(list), edit())
    expect(out.root.mediaType).toBe(MediaType.ociIndex)
    const index = json<ImageIndex>(out, out.root)
    expect(index.mediaType).toBe(MediaType.ociIndex)
    expect(index.manifests.map((m) => m.mediaType)).toEqual([MediaType.ociManifest, MediaType.ociManifest])
    expect(index.manifests.map((m) => m.platform?.architecture)).toEqual(['amd64', 'arm64'])
    for (const m of index.manifests) {
      const manifest = json<ImageManifest>(out, m)
      expect(manifest.mediaType).toBe(MediaType.ociManifest)
      expect(manifest.config.mediaType).toBe(MediaType.ociConfig)
      expect(manifest.layers[0]!.mediaType).toBe(MediaType.ociLayerGzip)
      expect(manifest.layers.slice(1).map((l) => l.digest)).toEqual([sha256Digest('a.bin'), sha256Digest('README.md')])
    }
  })

  it('handles a nested index and drops attestations of rewritten manifests', async () => {
    const g = new GraphBuilder()
    const amd = g.image('amd64')
    const att = g.add(
      {
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: { mediaType: MediaType.ociConfig, digest: sha256Digest('c'), size: 2 },
        layers: [{ mediaType: MediaType.inToto, digest: sha256Digest('s'), size: 3 }],
      },
      MediaType.ociManifest,
      {
        platform: { architecture: 'unknown', os: 'unknown' },
        annotations: { 'vnd.docker.reference.digest': amd.digest, 'vnd.docker.reference.type': 'attestation-manifest' },
      },
    )
    const inner = g.add(
      { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [amd, att], annotations: { keep: 'me' } },
      MediaType.ociIndex,
    )
    const outer = g.add({ schemaVersion: 2, manifests: [inner] }, MediaType.ociIndex)
    const out = await editImage(g.base(outer), edit())
    const top = json<ImageIndex>(out, out.root)
    const nested = json<ImageIndex>(out, top.manifests[0]!)
    expect(nested.annotations).toEqual({ keep: 'me' })
    expect(nested.manifests).toHaveLength(1)
    expect(out.dropped.map((d) => d.digest)).toEqual([att.digest])
    const all = new Set(out.documents.map((d) => d.descriptor.digest))
    for (const m of nested.manifests) expect(all.has(m.digest)).toBe(true)
  })

  it('a base without history gets none (a partial one would disagree with the layers)', async () => {
    const g = new GraphBuilder()
    const out = await editImage(g.base(g.image('amd64', { history: false })), edit())
    const config = json<ImageConfig>(out, json<ImageManifest>(out, out.root).config)
    expect(config.history).toBeUndefined()
    expect(config.rootfs!.diff_ids).toHaveLength(3)
  })

  it('scratch: one manifest per platform under an index', async () => {
    const out = await editImage(
      {
        name: 'scratch',
        root: undefined,
        documents: new Map(),
        blobs: undefined,
        platforms: [
          { architecture: 'amd64', os: 'linux' },
          { architecture: 'arm64', os: 'linux', variant: 'v8' },
        ],
      },
      edit({ created: '1970-01-01T00:00:00.000Z' }),
    )
    const index = json<ImageIndex>(out, out.root)
    expect(index.manifests.map((m) => m.platform)).toEqual([
      { architecture: 'amd64', os: 'linux' },
      { architecture: 'arm64', os: 'linux', variant: 'v8' },
    ])
    const config = json<ImageConfig>(out, json<ImageManifest>(out, index.manifests[1]!).config)
    expect(config).toMatchObject({ architecture: 'arm64', os: 'linux', variant: 'v8', created: '1970-01-01T00:00:00.000Z' })
    expect(config.rootfs!.diff_ids).toHaveLength(2)
    // the same new layers are shared, not stored twice
    expect(out.documents.filter((d) => d.kind === 'manifest')).toHaveLength(2)
  })
})
