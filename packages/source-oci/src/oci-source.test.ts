import { createHash } from 'node:crypto'
import { join } from 'node:path'
import zlib from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isModelcarError, readModelFile, type ModelFile } from '@modelcar/core'
import { assertSourceCompliance, testContext } from '@modelcar/testing'
import {
  buildDockerModel,
  buildModelKit,
  buildModelPack,
  modelFiles,
  type ArtifactFile,
  type BuiltArtifact,
} from '../../../tools/model-artifacts/build-model-artifacts.mjs'
import { tempDir, type TempDir } from '../../../tools/harness/temp.js'
import { ociSource } from './oci-source.js'

const HAS_ZSTD = typeof (zlib as unknown as { createZstdDecompress?: unknown }).createZstdDecompress === 'function'
const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`

let tmp: TempDir
const files = modelFiles()
const built: Record<string, BuiltArtifact> = {}

beforeAll(async () => {
  tmp = await tempDir('mc-source-oci')
  const at = (name: string) => join(tmp.path, name)
  built.raw = await buildModelPack(at('raw'), files, { layers: 'raw' })
  built.tar = await buildModelPack(at('tar'), files)
  built.gzip = await buildModelPack(at('gzip'), files, { compression: 'gzip' })
  built.zstd = await buildModelPack(at('zstd'), files, { compression: 'zstd' })
  built.cnai = await buildModelPack(at('cnai'), files, { spelling: 'cnai', oldestTypes: true })
  built.docker = await buildDockerModel(at('docker'))
  built.dockerV01 = await buildDockerModel(at('docker-v01'), { annotated: false })
  built.kit = await buildModelKit(at('kit'))
})
afterAll(() => tmp?.cleanup())

async function listed(ref: string, extra: Record<string, unknown> = {}) {
  const ctx = testContext({ type: 'oci', baseDir: tmp.path })
  const source = await ociSource.create({ ref, insecure: false, modelcard: true, ...extra }, ctx)
  const out: ModelFile[] = []
  for await (const f of source.list()) out.push(f)
  return { files: out, source, ctx }
}

/** Every file read the way the engine reads it (size and announced digest checked). */
async function readAll(file: ModelFile): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const c of readModelFile(file, { component: 'oci' })) parts.push(c)
  return Buffer.concat(parts)
}

function expectFiles(got: ModelFile[], want: ArtifactFile[]) {
  expect(got.map((f) => [f.path, f.size, (f.mode ?? 0o644) & 0o111 ? 0o755 : 0o644])).toEqual(
    [...want].sort((a, b) => (a.path < b.path ? -1 : 1)).map((f) => [f.path, f.bytes.length, f.mode]),
  )
}

describe('source oci', () => {
  it.each([
    ['raw', 'ModelPack, raw layers'],
    ['tar', 'ModelPack, tar layers'],
    ['gzip', 'ModelPack, tar+gzip layers'],
    ['zstd', 'ModelPack, tar+zstd layers'],
    ['cnai', 'ModelPack in the older cnai spelling'],
    ['docker', 'a Docker model (v0.2, annotated)'],
    ['dockerV01', 'a Docker model (v0.1, unannotated shards)'],
    ['kit', 'a KitOps ModelKit'],
  ])('lists and reads %s (%s): every path, size, mode and byte', async (name) => {
    const artifact = built[name]!
    if (name === 'zstd' && !HAS_ZSTD) {
      // This Node.js has no zstd: the listing says which Node.js to run on (and it is the user's to change).
      const err = await listed(artifact.ref).catch((e: unknown) => e)
      expect(isModelcarError(err) && [err.code, err.input], String(err)).toEqual(['OCI_ZSTD_UNAVAILABLE', true])
      return
    }
    const { files: got } = await listed(artifact.ref)
    expectFiles(got, artifact.files)
    for (const f of got) {
      const want = artifact.files.find((w) => w.path === f.path)!
      expect(sha256(await readAll(f)), f.path).toBe(sha256(want.bytes))
    }
  })

  it('gives a raw layer its digest, a tar member an identity, and the artifact annotations', async () => {
    const raw = await listed(built.raw!.ref)
    for (const f of raw.files) expect(f.digest).toBe(sha256(files.find((w) => w.path === f.path)!.bytes))
    expect(raw.source.annotations!()).toEqual({
      'modelcar.oci.artifact': 'modelpack',
      'modelcar.oci.digest': built.raw!.manifestDigest,
      'org.opencontainers.image.source': 'https://example.com/tiny',
      'org.opencontainers.image.revision': 'abc123',
      'org.opencontainers.image.licenses': 'Apache-2.0',
    })
    expect(raw.source.modelcard!()).toBe('README.md')
    const tar = await listed(built.tar!.ref)
    for (const f of tar.files) {
      expect(f.digest).toBeUndefined()
      expect(f.identity).toMatch(/^oci-layer:sha256:[0-9a-f]{64}@\d+:/)
    }
    expect(new Set(tar.files.map((f) => f.identity)).size).toBe(tar.files.length)
  })

  it('takes include, exclude and into', async () => {
    const { files: got } = await listed(built.tar!.ref, { include: ['*.json'], exclude: ['tokenizer/**'], into: 'sub' })
    expect(got.map((f) => f.path)).toEqual(['sub/config.json', `sub/${files.find((f) => f.path.startsWith('donn'))!.path}`])
  })

  it('passes the source conformance kit on a layout (raw, tar, tar+gzip)', async () => {
    for (const name of ['raw', 'tar', 'gzip']) {
      await assertSourceCompliance(
        ociSource,
        { ref: built[name]!.ref },
        {
          context: () => testContext({ type: 'oci', baseDir: tmp.path }),
          failing: [{ ref: 'oci-layout:./no-such-layout' }, { ref: `${built[name]!.ref.replace(/:latest$/, ':nope')}` }],
          resumeFiles: 4,
        },
      )
    }
  })
})
