import { createHash } from 'node:crypto'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { Type } from '@sinclair/typebox'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createCoreRegistry } from '../builtins.js'
import { defineSource } from '../contract/component.js'
import type { ModelFile } from '../contract/model-file.js'
import { ModelcarError } from '../errors/index.js'
import { parseRecipe } from '../recipe/load-recipe.js'
import type { RunEvent } from '../contract/events.js'
import { runRecipe } from './run-recipe.js'

let dir: string
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mc-run-'))
})
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true })
})

/** A source whose files misbehave on purpose. */
const flaky = defineSource({
  type: 'flaky',
  description: 'test source',
  schema: Type.Object({ mode: Type.String() }),
  create(config) {
    const body = Buffer.alloc(3 << 20, 7)
    let cuts = 0
    const file: ModelFile = {
      path: 'weights.bin',
      size: config.mode === 'short' ? body.length + 1 : body.length,
      digest: config.mode === 'baddigest' ? `sha256:${'0'.repeat(64)}` : `sha256:${createHash('sha256').update(body).digest('hex')}`,
      async open({ start = 0 } = {}) {
        const rest = body.subarray(start)
        if (config.mode === 'cut' && cuts < 2) {
          cuts++
          // Deliver a part, then fail the way a reset connection does.
          return Readable.from(
            (async function* () {
              yield rest.subarray(0, 1 << 20)
              throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })
            })(),
          )
        }
        if (config.mode === 'explode') throw new Error('backend down')
        return Readable.from([rest])
      },
    }
    return {
      async *list() {
        yield file
      },
    }
  },
})

const registry = () => createCoreRegistry().register(flaky)

async function recipe(sources: string, extra = ''): Promise<Awaited<ReturnType<typeof parseRecipe>>> {
  const text = `apiVersion: modelcar/v1\nsources:\n${sources}\nsinks:\n  - type: oci-layout\n    path: ./out\n${extra}`
  await fs.writeFile(path.join(dir, 'recipe.yaml'), text)
  return parseRecipe(text, path.join(dir, 'recipe.yaml'), { registry: registry(), env: {} })
}

async function tree(root: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await fs.readdir(root, { recursive: true, withFileTypes: true }))
    if (e.isFile()) out.push(path.relative(root, path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name)))
  return out.sort()
}

describe('runRecipe', () => {
  it('streams local files into a layout; the same inputs give the same digest', async () => {
    await fs.mkdir(path.join(dir, 'm/sub'), { recursive: true })
    await fs.writeFile(path.join(dir, 'm/a.bin'), 'aaaa')
    await fs.writeFile(path.join(dir, 'm/sub/b.json'), '{}')
    const r = await recipe('  - type: local\n    path: ./m')
    const events: RunEvent[] = []
    const first = await runRecipe(r, { onEvent: (e) => events.push(e) })
    expect(first.layers.map((l) => l.title)).toEqual(['/models/a.bin', '/models/sub/b.json'])
    expect(events.filter((e) => e.type === 'layer-done')).toHaveLength(2)
    const second = await runRecipe(r)
    expect(second.digest).toBe(first.digest)
    expect(await tree(path.join(dir, 'out'))).not.toContainEqual(expect.stringContaining('.modelcar-tmp'))
  })

  it('a dry run reads no byte and writes nothing', async () => {
    const r = await recipe('  - type: flaky\n    mode: explode')
    const result = await runRecipe(r, { dryRun: true })
    expect(result.layers).toHaveLength(1)
    await expect(fs.stat(path.join(dir, 'out'))).rejects.toThrow()
  })

  it('resumes a cut read where it stopped, with the same digest as a clean read', async () => {
    const clean = await runRecipe(await recipe('  - type: flaky\n    mode: ok'))
    await fs.rm(path.join(dir, 'out'), { recursive: true })
    const events: RunEvent[] = []
    const cut = await runRecipe(await recipe('  - type: flaky\n    mode: cut'), { onEvent: (e) => events.push(e) })
    expect(cut.digest).toBe(clean.digest)
    expect(events.filter((e) => e.type === 'retry')).toHaveLength(2)
  })

  it.each([
    ['short', 'SOURCE_SIZE_MISMATCH'],
    ['baddigest', 'SOURCE_DIGEST_MISMATCH'],
    ['explode', 'COMPONENT_FAILED'],
  ])('a failing source (%s) commits nothing and leaves no temporary file', async (mode, code) => {
    const good = await runRecipe(await recipe('  - type: local\n    path: ./recipe.yaml'))
    const before = await fs.readFile(path.join(dir, 'out/index.json'), 'utf8')
    const blobs = await tree(path.join(dir, 'out'))
    const err = await runRecipe(await recipe(`  - type: flaky\n    mode: ${mode}`)).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ModelcarError)
    expect((err as ModelcarError).code).toBe(code)
    expect((err as ModelcarError).message).toContain('[flaky]')
    expect(await fs.readFile(path.join(dir, 'out/index.json'), 'utf8')).toBe(before)
    expect(await tree(path.join(dir, 'out'))).toEqual(blobs)
    expect(good.digest).toBeDefined()
  })

  it('a run that fails after a layer was written leaves no blob of it in the layout', async () => {
    await runRecipe(await recipe('  - type: local\n    path: ./recipe.yaml'))
    const before = await tree(path.join(dir, 'out'))
    await fs.writeFile(path.join(dir, 'a.txt'), 'a layer that is written, then orphaned by the failure after it')
    // One layer at a time, in path order: `a.txt` reaches the sink before `weights.bin` fails.
    const r = await recipe('  - type: local\n    path: ./a.txt\n  - type: flaky\n    mode: explode')
    await expect(runRecipe(r, { concurrency: 1 })).rejects.toMatchObject({ code: 'COMPONENT_FAILED' })
    expect(await tree(path.join(dir, 'out'))).toEqual(before)
  })

  it('two sinks on one layout (two tags) both commit: the blob both staged is published once', async () => {
    await fs.writeFile(path.join(dir, 'a.txt'), 'one blob, two sinks')
    const text =
      'apiVersion: modelcar/v1\nsources:\n  - type: local\n    path: ./a.txt\nsinks:\n  - type: oci-layout\n    path: ./out\n    tag: v1\n  - type: oci-layout\n    path: ./out\n    tag: latest\n'
    const result = await runRecipe(await parseRecipe(text, path.join(dir, 'r.yaml'), { registry: registry() }))
    const index = JSON.parse(await fs.readFile(path.join(dir, 'out/index.json'), 'utf8')) as {
      manifests: { digest: string; annotations: Record<string, string> }[]
    }
    expect(index.manifests.map((m) => [m.annotations['org.opencontainers.image.ref.name'], m.digest])).toEqual([
      ['v1', result.digest],
      ['latest', result.digest],
    ])
    expect(await tree(path.join(dir, 'out'))).not.toContainEqual(expect.stringContaining('.modelcar-tmp'))
  })

  it('two sources that put a file at the same path are an error before any byte moves', async () => {
    await fs.mkdir(path.join(dir, 'x'))
    await fs.writeFile(path.join(dir, 'x/recipe.yaml'), 'x')
    const r = await recipe('  - type: local\n    path: ./recipe.yaml\n  - type: local\n    path: ./x')
    await expect(runRecipe(r)).rejects.toMatchObject({ code: 'PATH_COLLISION' })
    await expect(fs.stat(path.join(dir, 'out'))).rejects.toThrow()
  })
})
