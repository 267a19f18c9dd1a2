// Same inputs, same image: recipe runs into fresh layouts agree byte for byte (with and without
// SOURCE_DATE_EPOCH), and `modelcar add` run again on its own output adds nothing.
import { chmod, chown, cp, mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildFixtures, type FixturePaths } from '../../tools/fixtures/build-fixtures.mjs'
import { tempDir, type TempDir } from '../../tools/harness/temp.js'
import { skopeoInspect } from '../../tools/harness/tools.js'
import {
  assertCliBuilt,
  blobPath,
  cliEnv,
  countBlobs,
  mustModelcar,
  platformImages,
  printedDigest,
  pythonTarMembers,
  readIndex,
  sha256,
  tagged,
  TITLE,
  walkLayout,
  writeModel,
  type Model,
} from './support.js'

const SLOW = 120_000
const SHAPES = ['single', 'multiarch', 'docker'] as const
type Shape = (typeof SHAPES)[number]
const EPOCH = 1_700_000_000

let work: TempDir
let fixtures: FixturePaths
let model: Model

beforeAll(async () => {
  await assertCliBuilt()
  work = await tempDir('e2e-determinism')
  fixtures = await buildFixtures(join(work.path, 'fixtures'))
  model = await writeModel(join(work.path, 'model'))
}, SLOW)

afterAll(async () => {
  await work?.cleanup()
})

let runs = 0
/** Runs a recipe (base layout → model folder → a new layout) in a folder of its own; returns the layout and the printed digest. */
async function recipeRun(base: string, modelRoot: string, env: Record<string, string> = {}): Promise<{ layout: string; digest: string }> {
  const dir = join(work.path, `run-${++runs}`)
  await mkdir(dir)
  await writeFile(
    join(dir, 'recipe.yaml'),
    [
      'apiVersion: modelcar/v1',
      `base: ${JSON.stringify(`oci-layout:${base}:latest`)}`,
      'sources:',
      `  - { type: local, path: ${JSON.stringify(modelRoot)} }`,
      'transforms:',
      '  - { type: modelcard, file: README.md }',
      '  - { type: annotate, annotations: { org.example.k: v }, labels: { team: ml } }',
      'sinks:',
      '  - { type: oci-layout, path: ./out }',
      '',
    ].join('\n'),
  )
  const result = await mustModelcar(['run', 'recipe.yaml'], { cwd: dir, env: cliEnv(env) })
  return { layout: join(dir, 'out'), digest: printedDigest(result) }
}

/**
 * Waits until a second has passed since `since`: tar and JSON times have one-second resolution, so
 * two runs in the same second would agree even if the clock leaked into the image.
 */
async function nextSecond(since: number): Promise<void> {
  const wait = since + 1_100 - Date.now()
  if (wait > 0) await new Promise((r) => setTimeout(r, wait))
}

const blobNames = async (layout: string) => (await readdir(join(layout, 'blobs', 'sha256'))).sort()

async function addTo(layout: string, args: string[]): Promise<string> {
  return printedDigest(await mustModelcar(['add', `${layout}:latest`, ...args], { cwd: model.root }))
}

describe('recipe runs into fresh layouts', () => {
  it.each(SHAPES)(
    'on the %s base: two runs give the same index.json and the same blobs, byte for byte',
    async (shape) => {
      const started = Date.now()
      const a = await recipeRun(fixtures[shape], model.root)
      await nextSecond(started)
      const b = await recipeRun(fixtures[shape], model.root)
      expect(b.digest).toBe(a.digest)
      expect(await readFile(join(b.layout, 'index.json'), 'utf8')).toBe(await readFile(join(a.layout, 'index.json'), 'utf8'))
      expect(await blobNames(b.layout)).toEqual(await blobNames(a.layout))
      await walkLayout(b.layout) // every blob is what its name says
    },
    SLOW,
  )

  it(
    'with SOURCE_DATE_EPOCH: two runs are identical to each other; the layers’ mtime and the new history entries carry that time, all else stays',
    async () => {
      const plain = await recipeRun(fixtures.multiarch, model.root)
      const started = Date.now()
      const a = await recipeRun(fixtures.multiarch, model.root, { SOURCE_DATE_EPOCH: String(EPOCH) })
      await nextSecond(started)
      const b = await recipeRun(fixtures.multiarch, model.root, { SOURCE_DATE_EPOCH: String(EPOCH) })
      expect(b.digest).toBe(a.digest)
      expect(await blobNames(b.layout)).toEqual(await blobNames(a.layout))
      expect(a.digest).not.toBe(plain.digest)

      const [img] = await platformImages(a.layout, tagged(await readIndex(a.layout)))
      const [baseImg] = await platformImages(fixtures.multiarch, tagged(await readIndex(fixtures.multiarch)))
      const iso = new Date(EPOCH * 1000).toISOString()
      const added = img!.config.history!.slice(baseImg!.config.history!.length)
      expect(added).toHaveLength(model.files.length)
      for (const h of added) expect(h.created).toBe(iso)
      expect(img!.config.created, 'the base’s created, verbatim').toBe(baseImg!.config.created)

      const layers = img!.manifest.layers!.slice(baseImg!.manifest.layers!.length)
      const tars = await pythonTarMembers(layers.map((l) => blobPath(a.layout, l.digest)))
      for (const members of tars) for (const m of members) expect(m.mtime, m.name).toBe(EPOCH)
    },
    SLOW,
  )

  it(
    'the same files in another folder, with other times, modes and owners on disk, give the same layers',
    async () => {
      const elsewhere = join(work.path, 'model-copy')
      await cp(model.root, elsewhere, { recursive: true })
      for (const f of model.files) {
        const abs = join(elsewhere, f.path)
        await utimes(abs, new Date('2001-02-03T04:05:06Z'), new Date('2001-02-03T04:05:06Z'))
        await chmod(abs, f.mode === 0o755 ? 0o700 : 0o640) // still executable, or not: the image has 0755/0644
        if (process.getuid?.() === 0) await chown(abs, 1234, 5678)
      }
      const started = Date.now()
      const a = await recipeRun(fixtures.single, model.root)
      await nextSecond(started)
      const b = await recipeRun(fixtures.single, elsewhere)
      const layersOf = async (layout: string) => {
        const [img] = await platformImages(layout, tagged(await readIndex(layout)))
        return img!.manifest.layers!.slice(1).map((l) => ({ digest: l.digest, size: l.size, title: l.annotations?.[TITLE] }))
      }
      expect(await layersOf(b.layout)).toEqual(await layersOf(a.layout))
    },
    SLOW,
  )
})

describe('modelcar add, again', () => {
  it.each(SHAPES)(
    'on the %s base: the same files twice give the same digest, and the second run adds no blob',
    async (shape: Shape) => {
      const layout = join(work.path, `add-twice-${shape}`)
      await cp(fixtures[shape], layout, { recursive: true })
      const args = [...model.addArgs, '--modelcard', 'README.md', '--annotation', 'org.example.k=v', '--label', 'team=ml']
      const started = Date.now()
      const first = await addTo(layout, args)
      const indexText = await readFile(join(layout, 'index.json'), 'utf8')
      const blobs = await blobNames(layout)

      await nextSecond(started)
      const second = await addTo(layout, args)
      expect(second).toBe(first)
      expect(await readFile(join(layout, 'index.json'), 'utf8')).toBe(indexText)
      expect(await blobNames(layout)).toEqual(blobs)
      const { rawText } = await skopeoInspect(`oci:${layout}:latest`)
      expect(sha256(rawText)).toBe(first)
    },
    SLOW,
  )

  it(
    'a file that is already in the image adds no second layer (and no blob)',
    async () => {
      const layout = join(work.path, 'add-again')
      await cp(fixtures.multiarch, layout, { recursive: true })
      const started = Date.now()
      await addTo(layout, [...model.addArgs, '--modelcard', 'README.md'])
      const layerCounts = async () => (await platformImages(layout, tagged(await readIndex(layout)))).map((i) => i.manifest.layers!.length)
      const before = { layers: await layerCounts(), blobs: await countBlobs(layout) }
      expect(before.layers).toEqual([1 + model.files.length, 1 + model.files.length])

      await nextSecond(started)
      await addTo(layout, ['weights.bin'])
      await addTo(layout, ['tokenizer'])
      expect(await layerCounts()).toEqual(before.layers)
      expect(await countBlobs(layout)).toBe(before.blobs)
      for (const img of await platformImages(layout, tagged(await readIndex(layout)))) {
        const titles = img.manifest.layers!.map((l) => l.annotations?.[TITLE]).filter(Boolean)
        expect(new Set(titles).size, `${img.platform}: a title twice`).toBe(titles.length)
        expect(img.config.rootfs.diff_ids).toHaveLength(img.manifest.layers!.length)
      }
    },
    SLOW,
  )
})
