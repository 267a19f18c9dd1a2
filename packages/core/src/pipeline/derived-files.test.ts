// A transform adds a file built from every model file's sha256 (plan.derived): the engine hashes
// the files as they stream and builds the derived file after them, in a layer of its own, with no
// transform wrapping open(). Later transforms still see the plan (the model card is not lost).
import { createHash } from 'node:crypto'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Type } from '@sinclair/typebox'
import tar from 'tar-stream'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createCoreRegistry } from '../builtins.js'
import { defineTransform } from '../contract/component.js'
import type { ImageIndex, ImageManifest } from '../oci/types.js'
import { parseRecipe } from '../recipe/load-recipe.js'
import { runRecipe } from './run-recipe.js'

let dir: string
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mc-derived-'))
  await fs.mkdir(path.join(dir, 'm/tok'), { recursive: true })
  await fs.writeFile(path.join(dir, 'm/w.bin'), Buffer.alloc(20 << 20, 3))
  await fs.writeFile(path.join(dir, 'm/tok/vocab.json'), '{"a":1}')
  await fs.writeFile(path.join(dir, 'm/README.md'), '# card\n')
})
afterEach(() => fs.rm(dir, { recursive: true, force: true }))

const sums = defineTransform({
  type: 'sums',
  description: 'test: SHA256SUMS of the model files',
  schema: Type.Object({}),
  create: () => ({
    apply: (plan) => ({
      ...plan,
      derived: [
        ...plan.derived,
        { target: 'SHA256SUMS', source: 'sums', build: (files) => files.map((f) => `${f.digest.slice(7)}  ${f.target}\n`).join('') },
      ],
    }),
  }),
})

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex')

async function readLayout(root: string): Promise<{ manifest: ImageManifest; blob: (digest: string) => Promise<Buffer> }> {
  const blob = (digest: string) => fs.readFile(path.join(root, 'blobs/sha256', digest.slice(7)))
  const index = JSON.parse(await fs.readFile(path.join(root, 'index.json'), 'utf8')) as ImageIndex
  const manifest = JSON.parse((await blob(index.manifests[0]!.digest)).toString()) as ImageManifest
  return { manifest, blob }
}

async function untar(bytes: Buffer): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>()
  const x = tar.extract()
  x.on('entry', (h, stream, next) => {
    const parts: Buffer[] = []
    stream.on('data', (c: unknown) => void parts.push(c as Buffer))
    stream.on('end', () => {
      if (h.type === 'file') out.set(h.name, Buffer.concat(parts))
      next()
    })
  })
  const done = new Promise<void>((resolve, reject) => {
    x.on('finish', () => resolve())
    x.on('error', reject)
  })
  x.end(bytes)
  await done
  return out
}

describe('derived files', () => {
  it('are built from every file’s sha256 once the files streamed, in a layer after theirs; the model card keeps its layer', async () => {
    const text =
      'apiVersion: modelcar/v1\nsources:\n  - type: local\n    path: ./m\ntransforms:\n  - type: sums\n  - type: modelcard\n    file: README.md\nsinks:\n  - type: oci-layout\n    path: ./out\n'
    const recipe = await parseRecipe(text, path.join(dir, 'r.yaml'), { registry: createCoreRegistry().register(sums) })
    const dry = await runRecipe(recipe, { dryRun: true })
    expect(dry.layers.map((l) => [l.title, !!l.derived])).toEqual([
      ['/models/tok/vocab.json', false],
      ['/models/w.bin', false],
      ['/models/README.md', false],
      ['/models/SHA256SUMS', true],
    ])

    const result = await runRecipe(recipe)
    const { manifest, blob } = await readLayout(path.join(dir, 'out'))
    expect(manifest.layers.map((l) => l.annotations?.['org.opencontainers.image.title'])).toEqual([
      'tok/vocab.json',
      'w.bin',
      'README.md',
      'SHA256SUMS',
    ])
    expect(manifest.annotations?.['io.opendatahub.layers.modelcard']).toBe(manifest.layers[2]!.digest)
    const files = await untar(await blob(manifest.layers[3]!.digest))
    const expected = ['README.md', 'tok/vocab.json', 'w.bin'].map(
      async (f) => `${sha256(await fs.readFile(path.join(dir, 'm', f)))}  ${f}\n`,
    )
    expect(files.get('models/SHA256SUMS')?.toString()).toBe((await Promise.all(expected)).join(''))
    expect(result.layers[3]).toMatchObject({ derived: true, bytes: files.get('models/SHA256SUMS')!.length })
  })

  it('a derived file at a model file’s path is refused before any byte moves', async () => {
    const clash = defineTransform({
      ...sums,
      type: 'clash',
      create: () => ({ apply: (plan) => ({ ...plan, derived: [{ target: 'w.bin', source: 'clash', build: () => 'x' }] }) }),
    })
    const text =
      'apiVersion: modelcar/v1\nsources:\n  - type: local\n    path: ./m\ntransforms:\n  - type: clash\nsinks:\n  - type: oci-layout\n    path: ./out\n'
    const recipe = await parseRecipe(text, path.join(dir, 'r.yaml'), { registry: createCoreRegistry().register(clash) })
    await expect(runRecipe(recipe)).rejects.toMatchObject({ code: 'PATH_COLLISION' })
    await expect(fs.stat(path.join(dir, 'out'))).rejects.toThrow()
  })
})
