import { createHash } from 'node:crypto'
import { cp, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import tar from 'tar-stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isModelcarError, readModelFile, type Descriptor, type ModelFile } from '@modelcar/core'
import { testContext } from '@modelcar/testing'
import { buildModelKit, buildModelPack, modelFiles, type BuiltArtifact } from '../../../../tools/model-artifacts/build-model-artifacts.mjs'
import { tempDir, type TempDir } from '../../../../tools/harness/temp.js'
import { VerifiedLayers } from '../files/tar-layer.js'
import type { BlobStore } from '../store/blob-store.js'
import { layoutStore } from '../store/layout-store.js'
import { listArtifact } from './list-artifact.js'

const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`
let tmp: TempDir
let kit: BuiltArtifact

beforeAll(async () => {
  tmp = await tempDir('mc-oci-list')
  kit = await buildModelKit(join(tmp.path, 'kit'), { weightBytes: 1 << 20 })
})
afterAll(() => tmp?.cleanup())

/** A layout store that counts the bytes its reads hand out. */
function countingStore(layout: string, tag: string | undefined): BlobStore & { bytesRead: number; rangeReads: number } {
  const inner = layoutStore(`oci-layout:${layout}`, layout, tag)
  const store = {
    ...inner,
    bytesRead: 0,
    rangeReads: 0,
    async readRange(desc: Descriptor, start: number, end: number) {
      store.rangeReads++
      const out = await inner.readRange(desc, start, end)
      store.bytesRead += out.byteLength
      return out
    },
    async open(desc: Descriptor, start: number, end: number | undefined, signal: AbortSignal) {
      const body = await inner.open(desc, start, end, signal)
      return (async function* () {
        for await (const c of body) {
          store.bytesRead += (c as Uint8Array).byteLength
          yield c as Uint8Array
        }
      })()
    },
  }
  return store
}

async function readAll(file: ModelFile): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const c of readModelFile(file, { component: 'oci' })) parts.push(c)
  return Buffer.concat(parts)
}

async function blobPathOf(layout: string, layer: number, manifestDigest: string): Promise<{ path: string; desc: Descriptor }> {
  const manifest = JSON.parse(await readFile(join(layout, 'blobs', 'sha256', manifestDigest.slice(7)), 'utf8'))
  const desc = manifest.layers[layer] as Descriptor
  return { path: join(layout, 'blobs', 'sha256', desc.digest.slice(7)), desc }
}

type TarMember = [Parameters<ReturnType<typeof tar.pack>['entry']>[0], Buffer?]

/**
 * A copy of a ModelPack artifact of `files` whose weights layer is replaced by a gzip tar of
 * `members`, annotated as a single file (`model.safetensors`, type flag `0`).
 */
async function withWeightsLayer(name: string, files: ReturnType<typeof modelFiles>, members: TarMember[]) {
  const art = await buildModelPack(join(tmp.path, `${name}-base`), files)
  const layout = join(tmp.path, name)
  await cp(art.layout, layout, { recursive: true })
  const pack = tar.pack()
  for (const [header, body] of members) {
    if (body === undefined) pack.entry(header)
    else pack.entry(header, body)
  }
  pack.finalize()
  const chunks: Buffer[] = []
  for await (const c of pack) chunks.push(c as Buffer)
  const blob = gzipSync(Buffer.concat(chunks))
  await writeFile(join(layout, 'blobs', 'sha256', sha256(blob).slice(7)), blob)
  const manifest = structuredClone(art.manifest)
  const layer: Descriptor = {
    mediaType: 'application/vnd.cncf.model.weight.v1.tar+gzip',
    digest: sha256(blob),
    size: blob.length,
    annotations: { ...manifest.layers[0]!.annotations },
  }
  manifest.layers[0] = layer as (typeof manifest.layers)[0]
  const manifestBytes = Buffer.from(JSON.stringify(manifest))
  await writeFile(join(layout, 'blobs', 'sha256', sha256(manifestBytes).slice(7)), manifestBytes)
  await writeFile(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(manifestBytes), size: manifestBytes.length }],
    }),
  )
  return { layout, layer }
}

describe('listing and reading a model artifact', () => {
  it('lists an uncompressed tar layer by its headers alone, and reads its files with one pass over the layer in all', async () => {
    const store = countingStore(kit.layout, 'latest')
    const ctx = testContext({ type: 'oci' })
    const listing = await listArtifact(store, { verified: new VerifiedLayers(), ctx })
    const modelLayer = kit.manifest.layers[0]!
    // Headers and small files' neighbours, never the 1 MiB of weights.
    expect(store.bytesRead).toBeLessThan(modelLayer.size / 4)
    store.bytesRead = 0
    const model = listing.files.filter((f) => f.layer === 0).map((f) => f.file)
    expect(model.map((f) => f.path).sort()).toEqual(
      kit.files
        .filter((f) => f.path.startsWith('model/'))
        .map((f) => f.path)
        .sort(),
    )
    // Three files at once: one passes over the layer (checking its digest), the others wait and then read only their bytes.
    const contents = await Promise.all(model.map(readAll))
    for (const [i, f] of model.entries()) expect(sha256(contents[i]!), f.path).toBe(sha256(kit.files.find((k) => k.path === f.path)!.bytes))
    const sizes = model.reduce((n, f) => n + f.size, 0)
    expect(store.bytesRead).toBeLessThanOrEqual(modelLayer.size + sizes)
    expect(store.bytesRead).toBeGreaterThanOrEqual(modelLayer.size)
  })

  it('fails a read whose layer does not hash to its digest, after listing it fine', async () => {
    const layout = join(tmp.path, 'corrupt')
    await cp(kit.layout, layout, { recursive: true })
    const { path } = await blobPathOf(layout, 0, kit.manifestDigest)
    const bytes = await readFile(path)
    // A byte of the weights' data (the headers stay whole, so the listing sees nothing wrong).
    const at = bytes.indexOf(kit.files.find((f) => f.path === 'model/weights.safetensors')!.bytes.subarray(0, 64)) + 100
    bytes[at] = bytes[at]! ^ 0xff
    await writeFile(path, bytes)
    const listing = await listArtifact(countingStore(layout, 'latest'), {
      verified: new VerifiedLayers(),
      ctx: testContext({ type: 'oci' }),
    })
    const config = listing.files.find((f) => f.file.path === 'model/config.json')!.file
    const err = await readAll(config).catch((e: unknown) => e)
    expect(isModelcarError(err) && err.code, String(err)).toBe('BLOB_DIGEST_MISMATCH')
    expect(isModelcarError(err) && err.retryable).toBe(false)
  })

  it('takes the folder off the paths of a layer shared with a runnable image (`models/x` annotated `x`), compressed, by its first header', async () => {
    const files = modelFiles({ weightBytes: 2048 })
    const weights = files.find((f) => f.path === 'model.safetensors')!
    const { layout, layer } = await withWeightsLayer('shared', files, [
      [{ name: 'models/', type: 'directory', mode: 0o755 }],
      [{ name: 'models/model.safetensors', size: weights.bytes.length, mode: 0o644 }, weights.bytes],
    ])
    const verified = new VerifiedLayers()
    const listing = await listArtifact(countingStore(layout, undefined), { verified, ctx: testContext({ type: 'oci' }) })
    const file = listing.files.find((f) => f.layer === 0)!.file
    expect(file.path).toBe('model.safetensors')
    expect(verified.memberDigest(layer, 0)).toBeUndefined() // listed by its first header, not read whole
    expect(sha256(await readAll(file))).toBe(sha256(weights.bytes))
  })

  it('fails a read of a compressed layer that holds more files than its annotations say', async () => {
    const files = modelFiles({ weightBytes: 2048 })
    const weights = files.find((f) => f.path === 'model.safetensors')!
    const { layout } = await withWeightsLayer('more', files, [
      [{ name: 'model.safetensors', size: weights.bytes.length, mode: 0o644 }, weights.bytes],
      [{ name: 'stowaway.bin', size: 3, mode: 0o644 }, Buffer.from('abc')],
    ])
    const listing = await listArtifact(countingStore(layout, undefined), {
      verified: new VerifiedLayers(),
      ctx: testContext({ type: 'oci' }),
    })
    const layerFiles = listing.files.filter((f) => f.layer === 0).map((f) => f.file.path)
    expect(layerFiles).toEqual(['model.safetensors'])
    const err = await readAll(listing.files.find((f) => f.layer === 0)!.file).catch((e: unknown) => e)
    expect(isModelcarError(err) && err.code, String(err)).toBe('OCI_LAYER_CHANGED')
    expect((err as Error).message).toMatch(/holds `stowaway\.bin` too, where its annotations name one file/)
  })
})
