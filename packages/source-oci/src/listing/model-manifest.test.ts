import { createHash } from 'node:crypto'
import { cp, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isModelcarError } from '@modelcar/core'
import { testContext } from '@modelcar/testing'
import { buildModelPack, modelFiles, type BuiltArtifact } from '../../../../tools/model-artifacts/build-model-artifacts.mjs'
import { tempDir, type TempDir } from '../../../../tools/harness/temp.js'
import { ociSource } from '../oci-source.js'

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
const REF_NAME = 'org.opencontainers.image.ref.name'

let tmp: TempDir
let artifact: BuiltArtifact

async function putJson(layout: string, doc: unknown) {
  const bytes = Buffer.from(JSON.stringify(doc))
  const hex = createHash('sha256').update(bytes).digest('hex')
  await writeFile(join(layout, 'blobs', 'sha256', hex), bytes)
  return { digest: `sha256:${hex}`, size: bytes.length }
}

/** A container image for `arch` (its config only: nothing reads its layers here). */
async function imageManifest(layout: string, arch: string) {
  const config = await putJson(layout, { architecture: arch, os: 'linux', rootfs: { type: 'layers', diff_ids: [] } })
  const manifest = await putJson(layout, {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: [],
  })
  return { mediaType: OCI_MANIFEST, ...manifest, platform: { os: 'linux', architecture: arch } }
}

/** A copy of the artifact's layout whose index.json names `entry` (tagged latest). */
async function layoutWith(name: string, build: (layout: string) => Promise<Record<string, unknown>>): Promise<string> {
  const layout = join(tmp.path, name)
  await cp(artifact.layout, layout, { recursive: true })
  const entry = await build(layout)
  await writeFile(
    join(layout, 'index.json'),
    JSON.stringify({ schemaVersion: 2, manifests: [{ ...entry, annotations: { [REF_NAME]: 'latest' } }] }),
  )
  return layout
}

async function listError(ref: string): Promise<unknown> {
  const source = await ociSource.create({ ref, insecure: false, modelcard: true }, testContext({ type: 'oci', baseDir: tmp.path }))
  try {
    for await (const _ of source.list()) void _
  } catch (err) {
    return err
  }
  throw new Error(`listing ${ref} did not fail`)
}

beforeAll(async () => {
  tmp = await tempDir('mc-oci-manifest')
  artifact = await buildModelPack(join(tmp.path, 'artifact'), modelFiles({ weightBytes: 4096 }))
})
afterAll(() => tmp?.cleanup())

describe('the model manifest a ref names', () => {
  it('is the ModelPack manifest of an index that also holds runnable images (platform unknown/unknown, no artifactType on the entry)', async () => {
    const layout = await layoutWith('combined', async (l) => {
      const modelPack = {
        mediaType: OCI_MANIFEST,
        digest: artifact.manifestDigest,
        size: (await readFile(join(l, 'blobs', 'sha256', artifact.manifestDigest.slice(7)))).length,
      }
      const index = await putJson(l, {
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [
          await imageManifest(l, 'amd64'),
          await imageManifest(l, 'arm64'),
          { ...modelPack, platform: { os: 'unknown', architecture: 'unknown' } },
        ],
      })
      return { mediaType: OCI_INDEX, ...index }
    })
    const source = await ociSource.create({ ref: `oci-layout:${layout}`, insecure: false, modelcard: true }, testContext({ type: 'oci' }))
    const paths: string[] = []
    for await (const f of source.list()) paths.push(f.path)
    expect(paths).toContain('model.safetensors')
    expect(source.annotations!()['modelcar.oci.digest']).toBe(artifact.manifestDigest)
  })

  it('is refused, saying what it is, for a container image, an index of images, another artifact; each an input error', async () => {
    const image = await layoutWith('image', (l) => imageManifest(l, 'amd64'))
    const images = await layoutWith('images', async (l) => ({
      mediaType: OCI_INDEX,
      ...(await putJson(l, {
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [await imageManifest(l, 'amd64'), await imageManifest(l, 'arm64')],
      })),
    }))
    const helm = await layoutWith('helm', async (l) => ({
      mediaType: OCI_MANIFEST,
      ...(await putJson(l, {
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: 'application/vnd.cncf.helm.config.v1+json', ...(await putJson(l, { name: 'chart' })) },
        layers: [],
      })),
    }))
    const cases: [string, RegExp][] = [
      [image, /is a container image \(linux\/amd64\), not a model artifact/],
      [images, /is an image index of linux\/amd64, linux\/arm64 images, not a model artifact/],
      [helm, /is an OCI artifact of type `application\/vnd\.cncf\.helm\.config\.v1\+json`, not a model artifact/],
    ]
    for (const [layout, message] of cases) {
      const err = await listError(`oci-layout:${layout}:latest`)
      expect(isModelcarError(err) && err.code, String(err)).toBe('OCI_NOT_A_MODEL')
      expect((err as Error).message).toMatch(message)
      expect(isModelcarError(err) && err.input).toBe(true)
      expect(isModelcarError(err) && err.hint).toMatch(/base:/)
    }
  })

  it('must be one: an index of two model artifacts asks for a digest', async () => {
    const two = await layoutWith('two', async (l) => {
      const m = {
        mediaType: OCI_MANIFEST,
        digest: artifact.manifestDigest,
        size: (await readFile(join(l, 'blobs', 'sha256', artifact.manifestDigest.slice(7)))).length,
      }
      const doc = JSON.parse(await readFile(join(l, 'blobs', 'sha256', m.digest.slice(7)), 'utf8'))
      const other = await putJson(l, { ...doc, annotations: { other: 'yes' } })
      return {
        mediaType: OCI_INDEX,
        ...(await putJson(l, { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [m, { mediaType: OCI_MANIFEST, ...other }] })),
      }
    })
    const err = await listError(`oci-layout:${two}`)
    expect(isModelcarError(err) && err.code).toBe('OCI_MANY_MODELS')
    expect(isModelcarError(err) && err.hint).toContain(artifact.manifestDigest)
  })

  it('refuses a ref in no known form, and a layer of an unknown type', async () => {
    expect(() => ociSource.create({ ref: 'registry:UPPER/Case::x', insecure: false, modelcard: true }, testContext())).toThrow(
      /is not an image reference/,
    )
    const odd = await layoutWith('odd', async (l) => {
      const doc = JSON.parse(await readFile(join(l, 'blobs', 'sha256', artifact.manifestDigest.slice(7)), 'utf8'))
      doc.layers[1].mediaType = 'application/x-unknown'
      return { mediaType: OCI_MANIFEST, ...(await putJson(l, doc)) }
    })
    const err = await listError(`oci-layout:${odd}`)
    expect(isModelcarError(err) && err.code).toBe('OCI_LAYER_UNKNOWN')
    expect((err as Error).message).toMatch(/layer 2 of .* has media type `application\/x-unknown`/)
  })
})
