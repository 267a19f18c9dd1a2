// A run that writes in place into the base layout and dies half-way (SIGKILL: no cleanup runs)
// leaves the old image, intact and readable by skopeo and umoci; the next run then succeeds.
// SIGTERM (Ctrl-C, a CI timeout) stops the run cleanly, with no temporary files left behind.
import { spawn } from 'node:child_process'
import { cp, mkdir, open, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildFixtures, type FixturePaths } from '../../tools/fixtures/build-fixtures.mjs'
import { tempDir, type TempDir } from '../../tools/harness/temp.js'
import { skopeoInspect, umociUnpack } from '../../tools/harness/tools.js'
import {
  assertCliBuilt,
  CLI_BIN,
  cliEnv,
  fileDigest,
  mustModelcar,
  platformImages,
  printedDigest,
  readIndex,
  sha256,
  tagged,
  TITLE,
  walkLayout,
} from './support.js'

const SLOW = 180_000
const MiB = 1 << 20
const SMALL = 8 * MiB
const LARGE = 300 * MiB

let work: TempDir
let fixtures: FixturePaths
let modelDir: string

beforeAll(async () => {
  await assertCliBuilt()
  work = await tempDir('e2e-crash')
  fixtures = await buildFixtures(join(work.path, 'fixtures'))
  modelDir = join(work.path, 'model')
  await mkdir(modelDir)
  // a.bin is written first (layers go in path order, one at a time with --concurrency 1), then the
  // large b.bin: killed during b.bin, the run has a finished blob and a half-written one.
  const small = Buffer.alloc(SMALL)
  for (let i = 0; i < small.length; i += 4096) small.writeUInt32LE((i * 2654435761) >>> 0, i)
  await writeFile(join(modelDir, 'a.bin'), small)
  const large = await open(join(modelDir, 'b.bin'), 'w')
  await large.truncate(LARGE) // sparse: instant to make, and still 300 MiB to read, tar and write
  await large.write(Buffer.from('end of b.bin\n'), 0, 13, LARGE - 13)
  await large.close()
}, SLOW)

afterAll(async () => {
  await work?.cleanup()
})

/** A copy of the single fixture and a recipe that changes it in place. */
async function inPlaceSetup(name: string): Promise<{ dir: string; layout: string }> {
  const dir = join(work.path, name)
  await mkdir(dir)
  const layout = join(dir, 'layout')
  await cp(fixtures.single, layout, { recursive: true })
  await writeFile(
    join(dir, 'recipe.yaml'),
    [
      'apiVersion: modelcar/v1',
      'base: oci-layout:./layout:latest',
      'sources:',
      `  - { type: local, path: ${JSON.stringify(modelDir)} }`,
      'sinks:',
      '  - { type: oci-layout, path: ./layout, tag: latest }',
      '',
    ].join('\n'),
  )
  return { dir, layout }
}

interface Interrupted {
  code: number | null
  signal: NodeJS.Signals | null
  events: { type: string; layer?: number; bytes?: number }[]
  stderr: string
}

/**
 * Starts `modelcar run --json --concurrency 1` (or the given command) and sends `signal` when the
 * first progress event of the second layer arrives: with one layer at a time, the first layer is
 * then complete and the second one partly written.
 */
function runAndInterrupt(
  dir: string,
  signal: NodeJS.Signals,
  args = ['run', 'recipe.yaml', '--json', '--concurrency', '1'],
): Promise<Interrupted> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_BIN, ...args], { cwd: dir, env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
    const events: Interrupted['events'] = []
    let stderr = ''
    let buffered = ''
    let sent = false
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000)
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    child.stdout.on('data', (c: Buffer) => {
      buffered += c.toString()
      const lines = buffered.split('\n')
      buffered = lines.pop()!
      for (const line of lines) {
        if (!line.trim()) continue
        const event = JSON.parse(line) as Interrupted['events'][number]
        events.push(event)
        if (!sent && event.type === 'layer-progress' && event.layer === 1 && event.bytes! < LARGE) {
          sent = true
          child.kill(signal)
        }
      }
    })
    child.on('error', reject)
    child.on('close', (code, sig) => {
      clearTimeout(timer)
      resolve({ code, signal: sig, events, stderr })
    })
  })
}

/** Every file in blobs/sha256 holds exactly the bytes its name says: no half-written blob under a digest. */
async function expectEveryBlobIntact(layout: string): Promise<void> {
  for (const name of await readdir(join(layout, 'blobs', 'sha256'))) {
    expect(await fileDigest(join(layout, 'blobs', 'sha256', name)), `blobs/sha256/${name}`).toBe(`sha256:${name}`)
  }
}

/** Nothing but the layout's own files, plus (after a crash) the temporary folder the next run cleans. */
async function expectOnlyLayoutFiles(layout: string, allowTmp: boolean): Promise<void> {
  const top = (await readdir(layout)).sort()
  const allowed = ['blobs', 'index.json', 'oci-layout', ...(allowTmp ? ['.modelcar-tmp'] : [])]
  expect(
    top.filter((f) => !allowed.includes(f)),
    `unexpected files in ${layout}`,
  ).toEqual([])
  expect(await readdir(join(layout, 'blobs'))).toEqual(['sha256'])
}

async function expectOldImageWorks(layout: string, oldDigest: string, bundle: string): Promise<void> {
  const { rawText } = await skopeoInspect(`oci:${layout}:latest`)
  expect(sha256(rawText)).toBe(oldDigest)
  await walkLayout(layout)
  const rootfs = await umociUnpack(`${layout}:latest`, bundle)
  expect((await stat(join(rootfs, 'bin', 'busybox'))).isFile()).toBe(true)
  expect(await stat(join(rootfs, 'models')).catch(() => undefined), 'no /models in the old image').toBeUndefined()
}

/** The new image is tagged, reaches only intact blobs, and has the two model layers on the base layer. */
async function expectNewImage(layout: string, digest: string): Promise<void> {
  const { rawText } = await skopeoInspect(`oci:${layout}:latest`)
  expect(sha256(rawText)).toBe(digest)
  await walkLayout(layout)
  const [img] = await platformImages(layout, tagged(await readIndex(layout)))
  const layers = img!.manifest.layers!
  expect(layers.map((l) => l.annotations?.[TITLE])).toEqual([undefined, 'a.bin', 'b.bin'])
  expect(layers[1]!.size).toBeGreaterThan(SMALL)
  expect(layers[2]!.size).toBeGreaterThan(LARGE)
}

describe('a run that writes into its base layout', () => {
  it(
    'killed with SIGKILL half-way: index.json is unchanged, every blob is intact, skopeo and umoci read the old image; the next run succeeds',
    async () => {
      const { dir, layout } = await inPlaceSetup('sigkill')
      const indexBefore = await readFile(join(layout, 'index.json'), 'utf8')
      const oldDigest = tagged(JSON.parse(indexBefore)).digest

      const killed = await runAndInterrupt(dir, 'SIGKILL')
      expect(killed.signal, `the run ended on its own (exit ${killed.code}); stderr:\n${killed.stderr}`).toBe('SIGKILL')
      expect(
        killed.events.filter((e) => e.type === 'layer-done').map((e) => e.layer),
        'layers finished before the kill',
      ).toContain(0)
      expect(killed.events.some((e) => e.type === 'commit' || e.type === 'done')).toBe(false)

      expect(await readFile(join(layout, 'index.json'), 'utf8')).toBe(indexBefore)
      await expectOnlyLayoutFiles(layout, true)
      await expectEveryBlobIntact(layout)
      await expectOldImageWorks(layout, oldDigest, join(dir, 'bundle-old'))

      const again = await mustModelcar(['run', 'recipe.yaml'], { cwd: dir })
      const digest = printedDigest(again)
      expect(digest).not.toBe(oldDigest)
      await expectEveryBlobIntact(layout)
      await expectNewImage(layout, digest)
    },
    SLOW,
  )

  it(
    'stopped with SIGTERM half-way: exits 1, index.json is unchanged and no temporary file is left; the next run succeeds',
    async () => {
      const { dir, layout } = await inPlaceSetup('sigterm')
      const indexBefore = await readFile(join(layout, 'index.json'), 'utf8')
      const oldDigest = tagged(JSON.parse(indexBefore)).digest

      const stopped = await runAndInterrupt(dir, 'SIGTERM')
      expect(stopped.signal, `stderr:\n${stderrOf(stopped)}`).toBeNull()
      expect(stopped.code).toBe(1)
      expect(stopped.events.at(-1)?.type, 'the last event').toBe('error')

      expect(await readFile(join(layout, 'index.json'), 'utf8')).toBe(indexBefore)
      await expectOnlyLayoutFiles(layout, false)
      await expectEveryBlobIntact(layout)
      await expectOldImageWorks(layout, oldDigest, join(dir, 'bundle-old'))

      const digest = printedDigest(await mustModelcar(['run', 'recipe.yaml'], { cwd: dir }))
      await expectOnlyLayoutFiles(layout, false)
      await expectNewImage(layout, digest)
    },
    SLOW,
  )
})

describe('modelcar add on a layout', () => {
  it.each([
    ['SIGINT', 'Ctrl-C'],
    ['SIGTERM', 'a CI timeout'],
  ] as const)(
    'stopped with %s (%s) half-way: exits 1, index.json is unchanged, no temporary file is left',
    async (signal, _why) => {
      const { dir, layout } = await inPlaceSetup(`add-${signal.toLowerCase()}`)
      const indexBefore = await readFile(join(layout, 'index.json'), 'utf8')

      const stopped = await runAndInterrupt(dir, signal, [
        'add',
        `${layout}:latest`,
        join(modelDir, 'a.bin'),
        join(modelDir, 'b.bin'),
        '--json',
      ])
      expect(stopped.signal, `killed by the signal instead of stopping: nothing cleaned up. stderr:\n${stderrOf(stopped)}`).toBeNull()
      expect(stopped.code).toBe(1)
      expect(stopped.events.at(-1)?.type, 'the last event').toBe('error')
      expect(stopped.events.some((e) => e.type === 'commit' || e.type === 'done')).toBe(false)

      expect(await readFile(join(layout, 'index.json'), 'utf8')).toBe(indexBefore)
      await expectOnlyLayoutFiles(layout, false)
      await expectEveryBlobIntact(layout)
    },
    SLOW,
  )
})

function stderrOf(r: Interrupted): string {
  return `${r.stderr}\nevents: ${JSON.stringify(r.events.slice(-3))}`
}
