// Hugging Face → registry, incremental: a model of 4 × 512 MiB LFS shards and small files mirrored
// into docker-registry (no layout, no base), then mirrored again unchanged, updated (one shard and
// the README changed, in the same repo and in another one), and mirrored afresh with a kill -9
// half-way. The Hub emulator counts every byte it serves; the registry logs every upload it
// finished. What each run relies on: the unchanged re-mirror runs once with the first run's record
// (record and target image both know every layer) and once with a fresh cache folder (the target
// image alone); the updates run with fresh cache folders (the target image alone); the resume
// relies on the record, since a killed run moved no tag (it fails with --no-cache).
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addCommit, startHubEmulator, writeRepo, type HubEmulator } from '../../tools/hub-emulator/hub-emulator.mjs'
import { startRegistry, type Registry } from '../../tools/harness/registry.js'
import { tempDir, type TempDir } from '../../tools/harness/temp.js'
import { assertCliBuilt, mustModelcar, printedDigest } from '../e2e/support.js'
import {
  runAndKill,
  gib,
  hubDownloads,
  isolatedEnv,
  lfsPaths,
  MiB,
  modelSpec,
  registryImage,
  registryUploads,
  timed,
  writeRecipe,
  type ModelSpec,
} from './support.js'

const SLOW = 600_000
const REPO = 'acme/big'
const model: ModelSpec = modelSpec(4, 512 * MiB)
const totalBytes = Object.values(model.large).reduce((n, s) => n + s, 0) + model.smallBytes

let tmp: TempDir
let hub: HubEmulator
let registry: Registry
let commit: string
let lfs: Map<string, string>
const hubRoot = () => join(tmp.path, 'hub')

beforeAll(async () => {
  await assertCliBuilt()
  tmp = await tempDir('mc-incr-hf')
  commit = await writeRepo(hubRoot(), REPO, { files: model.files })
  hub = await startHubEmulator({ root: hubRoot() })
  registry = await startRegistry()
  lfs = await lfsPaths(hub, REPO, commit)
}, SLOW)

afterAll(async () => {
  await hub?.stop()
  await registry?.stop()
  await tmp?.cleanup()
})

let n = 0
/** A recipe mirroring `repo` at `revision` into `ref` of the test's registry. */
async function recipe(ref: string, repo = REPO, revision = commit): Promise<string> {
  return writeRecipe(join(tmp.path, `recipe-${++n}`), {
    sources: `  - type: hf\n    repo: ${repo}\n    endpoint: ${hub.url}\n    revision: ${revision}\n`,
    sinks: `  - type: registry\n    ref: ${registry.host}/${ref}\n`,
  })
}

const env = () => isolatedEnv(join(tmp.path, 'home'))
const cacheDir = (name: string) => join(tmp.path, 'cache', name)

/** Runs the CLI; what the Hub served meanwhile, and the wall time. */
async function mirror(
  file: string,
  args: string[],
): Promise<{ digest: string; seconds: number; downloads: ReturnType<typeof hubDownloads> }> {
  const from = hub.requests.length
  const { seconds, value } = await timed(() => mustModelcar(['run', file, ...args], { env: env() }))
  return { digest: printedDigest(value), seconds, downloads: hubDownloads(hub, from, lfs) }
}

/** The first mirror of the model into mirror/big:v1, with the record in cache/first (once for the file). */
let first: Promise<{ file: string; digest: string; seconds: number }> | undefined
function firstMirror(): Promise<{ file: string; digest: string; seconds: number }> {
  first ??= (async () => {
    const file = await recipe('mirror/big:v1')
    const before = registry.logs().length
    const run = await mirror(file, ['--cache-dir', cacheDir('first')])
    expect(run.downloads.total, 'a first mirror downloads every file').toBe(totalBytes)
    // Every layer and the config: the registry's log is read right (a re-run's empty list means something).
    expect(registryUploads(registry, before, 'mirror/big')).toHaveLength(Object.keys(model.files).length + 1)
    console.info(`hf → registry, first mirror of ${gib(totalBytes)}: ${run.seconds.toFixed(1)} s`)
    return { file, digest: run.digest, seconds: run.seconds }
  })()
  return first
}

describe('hf → registry, incremental', () => {
  it(
    'mirroring an unchanged model again downloads no model byte and gives the same digest: with the record, and with the target image alone',
    async () => {
      const { file, digest } = await firstMirror()
      const before = registry.logs().length

      // The record of the first run (it relies on it and on the target image).
      const again = await mirror(file, ['--cache-dir', cacheDir('first')])
      expect(again.digest).toBe(digest)
      expect(again.downloads.total, `bytes downloaded: ${JSON.stringify(again.downloads.byFile)}`).toBeLessThanOrEqual(MiB)
      expect(Object.keys(again.downloads.byFile).filter((p) => p in model.large)).toEqual([])

      // A fresh cache folder: the layers' annotations in the target image are all there is.
      const fresh = await mirror(file, ['--cache-dir', cacheDir('fresh-1')])
      expect(fresh.digest).toBe(digest)
      expect(fresh.downloads.total, `bytes downloaded: ${JSON.stringify(fresh.downloads.byFile)}`).toBeLessThanOrEqual(MiB)
      expect(Object.keys(fresh.downloads.byFile).filter((p) => p in model.large)).toEqual([])

      expect(registryUploads(registry, before, 'mirror/big'), 'blobs uploaded by the re-runs').toEqual([])
      console.info(
        `hf → registry, unchanged re-mirror of ${gib(totalBytes)}: ${again.seconds.toFixed(2)} s with the record (${again.downloads.total} B downloaded), ` +
          `${fresh.seconds.toFixed(2)} s with a fresh cache folder (${fresh.downloads.total} B downloaded)`,
      )
    },
    SLOW,
  )

  it(
    'an updated model, in the same repo or another one, downloads only the changed files; the others keep their layer digests',
    async () => {
      await firstMirror()
      const held = await registryImage(registry, 'mirror/big', 'v1')
      const [, , third, fourth] = Object.keys(model.large)

      // The same repo, one shard and the README changed; the same recipe but for the revision. A
      // fresh cache folder each time: the target image alone says what is there.
      const updated = { [third!]: { sparseSize: model.large[third!]! + MiB }, 'README.md': '# big model, v2\n' }
      const next = await addCommit(hubRoot(), REPO, updated)
      for (const [sha, path] of await lfsPaths(hub, REPO, next)) lfs.set(sha, path)
      const before = registry.logs().length
      const update = await mirror(await recipe('mirror/big:v1', REPO, next), ['--cache-dir', cacheDir('update-1')])
      expect(update.downloads.byFile).toEqual({ [third!]: model.large[third!]! + MiB, 'README.md': updated['README.md'].length })
      const afterUpdate = await registryImage(registry, 'mirror/big', 'v1')
      expect(afterUpdate.digest).toBe(update.digest)
      expectKept(held.layers, afterUpdate.layers, [third!, 'README.md'])
      expect(registryUploads(registry, before, 'mirror/big').sort()).toEqual(
        [afterUpdate.layers[third!], afterUpdate.layers['README.md'], afterUpdate.config].sort(),
      )

      // Another repo with the same files, but for the fourth shard and the README, into the same target.
      const fork = { ...model.files, ...updated, [fourth!]: { sparseSize: model.large[fourth!]! + 2 * MiB }, 'README.md': '# a fork\n' }
      const forkCommit = await writeRepo(hubRoot(), 'other/big-fork', { files: fork })
      for (const [sha, path] of await lfsPaths(hub, 'other/big-fork', forkCommit)) lfs.set(sha, path)
      const forked = await mirror(await recipe('mirror/big:v1', 'other/big-fork', forkCommit), ['--cache-dir', cacheDir('update-2')])
      expect(forked.downloads.byFile).toEqual({ [fourth!]: model.large[fourth!]! + 2 * MiB, 'README.md': fork['README.md'].length })
      const afterFork = await registryImage(registry, 'mirror/big', 'v1')
      expectKept(afterUpdate.layers, afterFork.layers, [fourth!, 'README.md'])

      console.info(
        `hf → registry, one-file update of ${gib(totalBytes)}: ${update.seconds.toFixed(1)} s, ${gib(update.downloads.total)} downloaded (same repo); ` +
          `${forked.seconds.toFixed(1)} s, ${gib(forked.downloads.total)} downloaded (another repo)`,
      )
    },
    SLOW,
  )

  it(
    'a fresh mirror killed with SIGKILL after two of four shards are done downloads, run again, only the rest, and gives the image of an uninterrupted run',
    async () => {
      const { digest: uninterrupted } = await firstMirror()
      // The original commit, pinned: what the first mirror made, whatever the other tests did to main.
      const file = await recipe('resumed/big:v1')
      const args = ['run', file, '--cache-dir', cacheDir('resume')]
      const from = hub.requests.length
      const killed = await runAndKill(args, { env: env(), large: Object.keys(model.large), count: 2 })
      expect(killed.killed, `the run ended before the kill:\n${killed.stderr}`).toBe(true)
      const inKilledRun = hubDownloads(hub, from, lfs)
      const done = killed.doneBeforeKill.map((d) => d.path)
      expect(done).toHaveLength(2)
      const tag = await fetch(`${registry.url}/v2/resumed/big/manifests/v1`, { method: 'HEAD' })
      expect(tag.status, 'a killed run moved no tag').toBe(404)
      for (const d of killed.doneBeforeKill) {
        const blob = await fetch(`${registry.url}/v2/resumed/big/blobs/${d.digest}`, { method: 'HEAD' })
        expect(blob.status, `the layer of ${d.path}, reported done`).toBe(200)
      }

      const resumed = await mirror(file, ['--cache-dir', cacheDir('resume')])
      expect(resumed.digest).toBe(uninterrupted)
      const remaining = Object.entries(model.large).filter(([p]) => !done.includes(p))
      expect(
        Object.keys(resumed.downloads.byFile).filter((p) => done.includes(p)),
        'shards finished before the kill',
      ).toEqual([])
      expect(resumed.downloads.total).toBeLessThanOrEqual(remaining.reduce((n, [, s]) => n + s, 0) + model.smallBytes)
      console.info(
        `hf → registry, resume after kill -9 (${gib(totalBytes)}): the killed run downloaded ${gib(inKilledRun.total)} (${done.join(', ')} done), ` +
          `the resumed one ${gib(resumed.downloads.total)} in ${resumed.seconds.toFixed(1)} s`,
      )
    },
    SLOW,
  )
})

/** Every layer but those of `changed` has the same digest in both images; those of `changed` have another. */
function expectKept(before: Record<string, string>, after: Record<string, string>, changed: string[]): void {
  expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort())
  for (const [title, digest] of Object.entries(before)) {
    if (changed.includes(title)) expect(after[title], `layer of ${title}`).not.toBe(digest)
    else expect(after[title], `layer of ${title}`).toBe(digest)
  }
}
