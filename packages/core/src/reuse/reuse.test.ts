// Reuse before reading: a layer the target image or the local record already has is not read
// again where every sink has its bytes, and the image comes out byte for byte as a full run's.
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Type } from '@sinclair/typebox'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createCoreRegistry } from '../builtins.js'
import { defineSource } from '../contract/component.js'
import { runRecipe } from '../pipeline/run-recipe.js'
import { parseRecipe } from '../recipe/load-recipe.js'
import type { ImageIndex, ImageManifest } from '../oci/types.js'

let dir: string
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mc-reuse-'))
})
afterEach(() => fs.rm(dir, { recursive: true, force: true }))

/** Files whose content the test sets, naming it as the test says (digest, identity, or nothing); every open() is counted. */
const contents = new Map<string, Buffer>()
const opens: string[] = []
const counting = defineSource({
  type: 'counting',
  description: 'test source',
  schema: Type.Object({ naming: Type.String({ description: 'digest | identity | none' }) }),
  create: (config) => ({
    async *list() {
      for (const [name, bytes] of contents) {
        const sha = `sha256:${createHash('sha256').update(bytes).digest('hex')}`
        yield {
          path: name,
          size: bytes.length,
          ...(config.naming === 'digest' ? { digest: sha } : {}),
          ...(config.naming === 'identity' ? { identity: `test:${sha.slice(7, 19)}` } : {}),
          open: async ({ start = 0 } = {}) => {
            opens.push(name)
            return [bytes.subarray(start)]
          },
        }
      }
    },
  }),
})

async function run(naming: string, cacheDir?: string) {
  const text = `apiVersion: modelcar/v1\nsources:\n  - type: counting\n    naming: ${naming}\nsinks:\n  - type: oci-layout\n    path: ./out\n`
  const recipe = await parseRecipe(text, path.join(dir, 'r.yaml'), { registry: createCoreRegistry().register(counting) })
  opens.length = 0
  const result = await runRecipe(recipe, cacheDir ? { cacheDir } : {})
  return { result, opened: [...opens].sort() }
}

async function manifest(): Promise<ImageManifest> {
  const index = JSON.parse(await fs.readFile(path.join(dir, 'out/index.json'), 'utf8')) as ImageIndex
  return JSON.parse(await fs.readFile(path.join(dir, 'out/blobs/sha256', index.manifests[0]!.digest.slice(7)), 'utf8')) as ImageManifest
}

describe('reuse before reading', () => {
  beforeEach(() => {
    contents.clear()
    contents.set('a.bin', Buffer.alloc(3 << 20, 1))
    contents.set('b.bin', Buffer.alloc(1 << 20, 2))
  })

  it.each(['digest', 'identity'])('files named by %s: a second run reads nothing and gives the same image', async (naming) => {
    const first = await run(naming)
    expect(first.opened).toEqual(['a.bin', 'b.bin'])
    const second = await run(naming)
    expect(second.opened).toEqual([])
    expect(second.result.reused).toBe(2)
    expect(second.result.digest).toBe(first.result.digest)
  })

  it('a changed file is the only one read; the other keeps its layer digest', async () => {
    const first = await run('identity')
    contents.set('b.bin', Buffer.alloc(1 << 20, 9))
    const second = await run('identity')
    expect(second.opened).toEqual(['b.bin'])
    const [a1, b1] = first.result.layers.map((l) => l.descriptor!.digest)
    const [a2, b2] = second.result.layers.map((l) => l.descriptor!.digest)
    expect(a2).toBe(a1)
    expect(b2).not.toBe(b1)
  })

  it('layers say what they were made from, in our annotations and olot’s', async () => {
    await run('none')
    const layer = (await manifest()).layers[0]!
    const sha = `sha256:${createHash('sha256').update(contents.get('a.bin')!).digest('hex')}`
    expect(layer.annotations).toMatchObject({
      'org.opencontainers.image.title': 'a.bin',
      'modelcar.content.digest': sha,
      'modelcar.file.size': String(3 << 20),
      'modelcar.file.mode': '0644',
      'modelcar.layer.encoding': 'tar;compression=none;mtime=0;prefix=/models;encoder=1',
      'olot.layer.content.digest': sha,
      'olot.layer.content.name': 'a.bin',
    })
  })

  it('files named by nothing are read again: nothing names them before they are read', async () => {
    const cache = path.join(dir, 'cache')
    await run('none', cache)
    expect((await run('none')).opened).toEqual(['a.bin', 'b.bin'])
    // The record keys layers by what a file is named by; nothing names these before reading.
    expect((await run('none', cache)).opened).toEqual(['a.bin', 'b.bin'])
    expect((await fs.readFile(path.join(cache, 'layers-v1.jsonl'), 'utf8')).trim().split('\n').length).toBeGreaterThan(0)
  })

  it('local files are found in the record by their fingerprint: a second run reads none of them', async () => {
    await fs.mkdir(path.join(dir, 'm'))
    await fs.writeFile(path.join(dir, 'm/w.bin'), Buffer.alloc(2 << 20, 5))
    const text = 'apiVersion: modelcar/v1\nsources:\n  - type: local\n    path: ./m\nsinks:\n  - type: oci-layout\n    path: ./out\n'
    const recipe = await parseRecipe(text, path.join(dir, 'r.yaml'), { registry: createCoreRegistry() })
    const cacheDir = path.join(dir, 'cache')
    const first = await runRecipe(recipe, { cacheDir })
    expect(first.reused).toBe(0)
    const second = await runRecipe(recipe, { cacheDir })
    expect(second.reused).toBe(1)
    expect(second.digest).toBe(first.digest)
    // Touched: the fingerprint changes, the file is read again (and gives the same layer).
    const later = new Date(Date.now() + 5000)
    await fs.utimes(path.join(dir, 'm/w.bin'), later, later)
    const third = await runRecipe(recipe, { cacheDir })
    expect(third.reused).toBe(0)
    expect(third.digest).toBe(first.digest)
  })

  it('a layer reported done is in the record and staged in the layout already: a run killed at that moment resumes past it', async () => {
    const text = `apiVersion: modelcar/v1\nsources:\n  - type: counting\n    naming: digest\nsinks:\n  - type: oci-layout\n    path: ./out\n`
    const recipe = await parseRecipe(text, path.join(dir, 'r.yaml'), { registry: createCoreRegistry().register(counting) })
    const cacheDir = path.join(dir, 'cache')
    const seen: { digest: string; recorded: boolean; staged: boolean }[] = []
    await runRecipe(recipe, {
      cacheDir,
      // Read synchronously in the event: nothing of the run moves on between the event and the check.
      onEvent: (e) => {
        if (e.type !== 'layer-done') return
        const record = existsSync(path.join(cacheDir, 'layers-v1.jsonl'))
          ? readFileSync(path.join(cacheDir, 'layers-v1.jsonl'), 'utf8')
          : ''
        const staged = existsSync(path.join(dir, 'out/.modelcar-tmp', `staged-${e.digest.slice(7)}`))
        seen.push({ digest: e.digest, recorded: record.includes(`"digest":"${e.digest}"`), staged })
      },
    })
    expect(seen).toHaveLength(2)
    for (const s of seen) expect(s).toEqual({ digest: s.digest, recorded: true, staged: true })
  })

  it('noReuse reads every file', async () => {
    await run('digest')
    const text = `apiVersion: modelcar/v1\nsources:\n  - type: counting\n    naming: digest\nsinks:\n  - type: oci-layout\n    path: ./out\n`
    const recipe = await parseRecipe(text, path.join(dir, 'r.yaml'), { registry: createCoreRegistry().register(counting) })
    opens.length = 0
    await runRecipe(recipe, { noReuse: true })
    expect([...opens].sort()).toEqual(['a.bin', 'b.bin'])
  })
})
