// Hugging Face → image layout, incremental: a fresh mirror into a layout killed with SIGKILL after
// two of four shards are done resumes from the blobs the killed run had staged, and leaves nothing
// unreferenced (this relies on the record: the killed run wrote no index.json, and with a fresh
// cache folder the test fails); with two sinks (a registry and a layout), a layer the targets hold
// but one sink lacks is streamed to that sink alone (fresh cache folders: the images the sinks
// hold are all there is). The Hub emulator counts what it serves; the registry logs what it
// receives; the layout's files say what was written.
import { readdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHubEmulator, writeRepo, type HubEmulator } from '../../tools/hub-emulator/hub-emulator.mjs'
import { startRegistry, type Registry } from '../../tools/harness/registry.js'
import { tempDir, type TempDir } from '../../tools/harness/temp.js'
import { assertCliBuilt, blobPath, mustModelcar, printedDigest, walkLayout } from '../e2e/support.js'
import {
  gib,
  hubDownloads,
  isolatedEnv,
  layoutImage,
  lfsPaths,
  MiB,
  modelSpec,
  registryImage,
  registryUploads,
  runAndKill,
  timed,
  writeRecipe,
} from './support.js'

const SLOW = 600_000
const REPO = 'acme/mid'
const model = modelSpec(4, 128 * MiB)
const totalBytes = Object.values(model.large).reduce((n, s) => n + s, 0) + model.smallBytes
const shard = (i: number) => Object.keys(model.large)[i - 1]!

let tmp: TempDir
let hub: HubEmulator
let registry: Registry
let commit: string
let lfs: Map<string, string>

beforeAll(async () => {
  await assertCliBuilt()
  tmp = await tempDir('mc-incr-layout')
  commit = await writeRepo(join(tmp.path, 'hub'), REPO, { files: model.files })
  hub = await startHubEmulator({ root: join(tmp.path, 'hub') })
  registry = await startRegistry()
  lfs = await lfsPaths(hub, REPO, commit)
}, SLOW)

afterAll(async () => {
  await hub?.stop()
  await registry?.stop()
  await tmp?.cleanup()
})

const env = () => isolatedEnv(join(tmp.path, 'home'))
const source = () => `  - type: hf\n    repo: ${REPO}\n    endpoint: ${hub.url}\n    revision: ${commit}\n`
const layoutSink = (path: string) => `  - type: oci-layout\n    path: ${path}\n`
const registrySink = (ref: string) => `  - type: registry\n    ref: ${registry.host}/${ref}\n`

async function mirror(file: string, cacheDir: string) {
  const from = hub.requests.length
  const { seconds, value } = await timed(() => mustModelcar(['run', file, '--cache-dir', cacheDir], { env: env() }))
  return { digest: printedDigest(value), seconds, downloads: hubDownloads(hub, from, lfs) }
}

/** Into a registry and a layout at once (the image of an uninterrupted run; once for the file). */
let both: Promise<{ dir: string; file: string; digest: string }> | undefined
function mirrorToBoth(): Promise<{ dir: string; file: string; digest: string }> {
  both ??= (async () => {
    const dir = join(tmp.path, 'two-sinks')
    const file = await writeRecipe(dir, { sources: source(), sinks: registrySink('two/mid:v1') + layoutSink('./out') })
    const run = await mirror(file, join(tmp.path, 'cache', 'two-sinks'))
    expect(run.downloads.total).toBe(totalBytes)
    expect((await registryImage(registry, 'two/mid', 'v1')).digest).toBe(run.digest)
    expect((await layoutImage(join(dir, 'out'))).digest).toBe(run.digest)
    return { dir, file, digest: run.digest }
  })()
  return both
}

describe('hf → layout, incremental', () => {
  it(
    'a fresh mirror killed after two of four shards resumes from the staged blobs of the killed run, and leaves nothing unreferenced',
    async () => {
      const { digest: uninterrupted } = await mirrorToBoth()
      const dir = join(tmp.path, 'resume')
      const file = await writeRecipe(dir, { sources: source(), sinks: layoutSink('./out') })
      const out = join(dir, 'out')
      const cacheDir = join(tmp.path, 'cache', 'resume')

      const from = hub.requests.length
      const killed = await runAndKill(['run', file, '--cache-dir', cacheDir], { env: env(), large: Object.keys(model.large), count: 2 })
      expect(killed.killed, `the run ended before the kill:\n${killed.stderr}`).toBe(true)
      const inKilledRun = hubDownloads(hub, from, lfs)
      const done = killed.doneBeforeKill.map((d) => d.path)
      await expect(stat(join(out, 'index.json')), 'a killed run names no image').rejects.toThrow()
      // What a kill leaves: the blobs of the layers reported done, staged (complete, synced) outside blobs/.
      const staged = (await readdir(join(out, '.modelcar-tmp'))).filter((f) => f.startsWith('staged-'))
      for (const d of killed.doneBeforeKill) expect(staged, `${d.path} reported done`).toContain(`staged-${d.digest.slice(7)}`)
      const halfWritten = (await readdir(join(out, '.modelcar-tmp'))).filter((f) => !f.startsWith('staged-'))

      const resumed = await mirror(file, cacheDir)
      expect(resumed.digest).toBe(uninterrupted)
      const remaining = Object.entries(model.large).filter(([p]) => !done.includes(p))
      expect(
        Object.keys(resumed.downloads.byFile).filter((p) => done.includes(p)),
        'shards finished before the kill',
      ).toEqual([])
      expect(resumed.downloads.total).toBeLessThanOrEqual(remaining.reduce((n, [, s]) => n + s, 0) + model.smallBytes)

      // Nothing unreferenced: every blob is reachable from index.json, and nothing is left in the
      // temporary folder (neither a staged blob nor the half-written one of the killed run).
      const { descriptors } = await walkLayout(out)
      expect((await readdir(join(out, 'blobs', 'sha256'))).sort()).toEqual([...new Set(descriptors.map((d) => d.digest.slice(7)))].sort())
      expect(await readdir(join(out, '.modelcar-tmp')).catch(() => []), 'left in .modelcar-tmp').toEqual([])
      console.info(
        `hf → layout, resume after kill -9 (${gib(totalBytes)}): the killed run downloaded ${gib(inKilledRun.total)} ` +
          `(${done.join(', ')} done, ${staged.length} blobs staged, ${halfWritten.length} half-written), ` +
          `the resumed one ${gib(resumed.downloads.total)} in ${resumed.seconds.toFixed(1)} s`,
      )
    },
    SLOW,
  )

  it(
    'with two sinks, a layer the target holds but one sink lacks is streamed to that sink only',
    async () => {
      const { dir, file, digest } = await mirrorToBoth()
      const out = join(dir, 'out')
      const held = await registryImage(registry, 'two/mid', 'v1')
      const blobCount = (await readdir(join(out, 'blobs', 'sha256'))).length

      // The registry loses the second shard's layer; the layout still has it. A fresh cache folder:
      // the images the sinks hold are all there is.
      const lost = held.layers[shard(2)]!
      const del = await fetch(`${registry.url}/v2/two/mid/blobs/${lost}`, { method: 'DELETE' })
      expect(del.status).toBe(202)
      const inLayout = await stat(blobPath(out, lost))
      const logFrom = registry.logs().length
      const toRegistry = await mirror(file, join(tmp.path, 'cache', 'two-sinks-1'))
      expect(toRegistry.digest).toBe(digest)
      expect(toRegistry.downloads.byFile).toEqual({ [shard(2)]: model.large[shard(2)] })
      expect(registryUploads(registry, logFrom, 'two/mid'), 'blobs the registry received').toEqual([lost])
      const after = await stat(blobPath(out, lost))
      expect([after.ino, after.mtimeMs], 'the layout blob, not written again').toEqual([inLayout.ino, inLayout.mtimeMs])
      expect((await readdir(join(out, 'blobs', 'sha256'))).length).toBe(blobCount)

      // The other way round: the layout loses the third shard's layer; the registry gets nothing.
      const gone = held.layers[shard(3)]!
      await rm(blobPath(out, gone))
      const logFrom2 = registry.logs().length
      const toLayout = await mirror(file, join(tmp.path, 'cache', 'two-sinks-2'))
      expect(toLayout.digest).toBe(digest)
      expect(toLayout.downloads.byFile).toEqual({ [shard(3)]: model.large[shard(3)] })
      expect(registryUploads(registry, logFrom2, 'two/mid'), 'blobs the registry received').toEqual([])
      await walkLayout(out)
      expect((await readdir(join(out, 'blobs', 'sha256'))).length).toBe(blobCount)
      console.info(
        `two sinks (${gib(totalBytes)}): a layer missing from the registry: ${toRegistry.seconds.toFixed(1)} s, ${gib(toRegistry.downloads.total)} downloaded; ` +
          `missing from the layout: ${toLayout.seconds.toFixed(1)} s, ${gib(toLayout.downloads.total)} downloaded`,
      )
    },
    SLOW,
  )
})
