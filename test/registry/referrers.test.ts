// OCI 1.1 referrers on a registry without the referrers API (distribution 2.8 answers 404): the
// sink keeps the referrers tag `sha256-<hex>` of the subject, an index of the manifests that
// refer to it, with their artifactType and annotations; pushing again adds no duplicate.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  configFor,
  encodeJson,
  MediaType,
  sha256Digest,
  silentLogger,
  type ComponentContext,
  type EditedImage,
  type ImageDocument,
} from '@modelcar/core'
import { registrySink } from '@modelcar/sink-registry'
import { startRegistry, type Registry } from '../../tools/harness/registry.js'

let registry: Registry
beforeAll(async () => {
  registry = await startRegistry()
})
afterAll(async () => {
  await registry?.stop()
})

const ctx = (): ComponentContext => ({
  type: 'registry',
  logger: silentLogger,
  signal: new AbortController().signal,
  concurrency: 2,
  baseDir: process.cwd(),
  env: { REGISTRY_AUTH_FILE: '/nonexistent/auth.json', HOME: '/nonexistent' },
  fetch: globalThis.fetch,
  emit() {},
  secret() {},
})

function doc(kind: ImageDocument['kind'], mediaType: string, value: unknown): ImageDocument {
  const bytes = typeof value === 'string' ? Buffer.from(value) : encodeJson(value)
  return { kind, descriptor: { mediaType, digest: sha256Digest(bytes), size: bytes.byteLength }, bytes }
}

function image(documents: ImageDocument[]): EditedImage {
  return { root: documents.at(-1)!.descriptor, documents, baseBlobs: [], rewritten: new Map(), dropped: [], images: [] }
}

async function push(tag: string, img: EditedImage): Promise<void> {
  const sink = await registrySink.create(configFor(registrySink, { ref: `${registry.host}/ref/test:${tag}` }), ctx())
  await sink.check?.()
  await sink.prepare?.()
  await sink.commit(img)
}

describe('referrers', () => {
  it('keeps the referrers tag of the subject when the registry has no referrers API', async () => {
    const empty = doc('config', MediaType.ociEmpty, '{}')
    const config = doc('config', MediaType.ociConfig, { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } })
    const subject = doc('manifest', MediaType.ociManifest, {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: config.descriptor,
      layers: [],
    })
    await push('v1', image([config, subject]))

    const sbom = doc('manifest', MediaType.ociManifest, {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      artifactType: 'application/vnd.example.sbom+json',
      config: { ...empty.descriptor, data: 'e30=' },
      layers: [empty.descriptor],
      subject: subject.descriptor,
      annotations: { 'org.example.kind': 'sbom' },
    })
    await push('sbom', image([empty, sbom]))
    await push('sbom', image([empty, sbom]))

    const api = await fetch(`${registry.url}/v2/ref/test/referrers/${subject.descriptor.digest}`)
    expect(api.status).toBe(404) // the premise: distribution 2.8 has no referrers API
    const res = await fetch(`${registry.url}/v2/ref/test/manifests/${subject.descriptor.digest.replace(':', '-')}`, {
      headers: { accept: MediaType.ociIndex },
    })
    expect(res.status).toBe(200)
    const index = (await res.json()) as { manifests: { digest: string; artifactType?: string; annotations?: Record<string, string> }[] }
    expect(index.manifests).toEqual([
      {
        mediaType: MediaType.ociManifest,
        digest: sbom.descriptor.digest,
        size: sbom.descriptor.size,
        artifactType: 'application/vnd.example.sbom+json',
        annotations: { 'org.example.kind': 'sbom' },
      },
    ])
  })
})
