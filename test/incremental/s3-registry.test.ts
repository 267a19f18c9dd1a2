// S3 → registry, incremental: objects that carry their full-object SHA-256 (s3rver keeps no
// checksums, so as `sha256` metadata, which the source takes the same way) name their content
// before they are read. A fresh mirror killed with SIGKILL after two of four shards are done
// downloads, run again, only the rest and gives the image of an uninterrupted run; without the
// record (--no-cache) it downloads everything again, which is what the record is for; an
// unchanged re-mirror with a fresh cache folder downloads no object byte. The fault proxy in
// front of s3rver (forwarding, no fault) counts every byte it passes on.
import { createHash } from 'node:crypto'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startFaultProxy, type FaultProxy } from '../../tools/fault-proxy/fault-proxy.mjs'
import { startRegistry, type Registry } from '../../tools/harness/registry.js'
import { tempDir, type TempDir } from '../../tools/harness/temp.js'
import { putObjects, seedClient, startS3Server, type S3Server } from '../../tools/s3-server/s3-server.mjs'
import { assertCliBuilt, mustModelcar, printedDigest } from '../e2e/support.js'
import { gib, isolatedEnv, MiB, modelSpec, registryImage, runAndKill, s3Downloads, timed, writeRecipe } from './support.js'

const SLOW = 600_000
const BUCKET = 'models'
const PREFIX = 'big'
const model = modelSpec(4, 128 * MiB)
const totalBytes = Object.values(model.large).reduce((n, s) => n + s, 0) + model.smallBytes

let tmp: TempDir
let s3: S3Server
let proxy: FaultProxy
let registry: Registry

beforeAll(async () => {
  await assertCliBuilt()
  tmp = await tempDir('mc-incr-s3')
  s3 = await startS3Server({ directory: join(tmp.path, 's3'), buckets: [BUCKET] })
  const objects: Record<string, string | { file: string }> = {}
  const metadata: Record<string, Record<string, string>> = {}
  for (const [path, content] of Object.entries(model.files)) {
    const key = `${PREFIX}/${path}`
    if (typeof content === 'string') {
      objects[key] = content
      metadata[key] = { sha256: createHash('sha256').update(content).digest('hex') }
    } else {
      const size = (content as { sparseSize: number }).sparseSize
      objects[key] = { file: await sparseFile(join(tmp.path, path), size) }
      metadata[key] = { sha256: zerosSha256(size) }
    }
  }
  await putObjects(seedClient(s3.url), BUCKET, objects, { metadata, concurrency: 2 })
  proxy = await startFaultProxy({ target: s3.url })
  registry = await startRegistry()
}, SLOW)

afterAll(async () => {
  await proxy?.stop()
  await s3?.stop()
  await registry?.stop()
  await tmp?.cleanup()
})

async function sparseFile(path: string, size: number): Promise<string> {
  const handle = await open(path, 'w')
  await handle.truncate(size)
  await handle.close()
  return path
}

function zerosSha256(size: number): string {
  const hash = createHash('sha256')
  const zeros = Buffer.alloc(4 * MiB)
  for (let left = size; left > 0; left -= zeros.length) hash.update(left >= zeros.length ? zeros : zeros.subarray(0, left))
  return hash.digest('hex')
}

function env(): NodeJS.ProcessEnv {
  const e = isolatedEnv(join(tmp.path, 'home'))
  for (const k of Object.keys(e)) if (k.startsWith('AWS_')) delete e[k]
  return {
    ...e,
    HOME: join(tmp.path, 'home'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
  }
}

let n = 0
const recipe = (ref: string) =>
  writeRecipe(join(tmp.path, `recipe-${++n}`), {
    sources: `  - type: s3\n    bucket: ${BUCKET}\n    prefix: ${PREFIX}\n    endpoint: ${proxy.url}\n`,
    sinks: `  - type: registry\n    ref: ${registry.host}/${ref}\n`,
  })
const cacheDir = (name: string) => join(tmp.path, 'cache', name)

async function mirror(file: string, args: string[]) {
  const from = proxy.requests.length
  const { seconds, value } = await timed(() => mustModelcar(['run', file, ...args], { env: env() }))
  return { digest: printedDigest(value), seconds, downloads: s3Downloads(proxy, from, BUCKET, PREFIX) }
}

/** Kills a fresh mirror into `ref` once two shards are done; the shards done, and what it downloaded. */
async function killHalfway(file: string, cache: string): Promise<{ done: string[]; downloaded: number }> {
  const from = proxy.requests.length
  const killed = await runAndKill(['run', file, '--cache-dir', cache], { env: env(), large: Object.keys(model.large), count: 2 })
  expect(killed.killed, `the run ended before the kill:\n${killed.stderr}`).toBe(true)
  const done = killed.doneBeforeKill.map((d) => d.path)
  expect(done).toHaveLength(2)
  return { done, downloaded: s3Downloads(proxy, from, BUCKET, PREFIX).total }
}

describe('s3 (objects with a SHA-256) → registry, incremental', () => {
  it(
    'a mirror killed after two of four shards downloads, run again, only the rest (through the record) and gives the image of an uninterrupted run',
    async () => {
      const full = await mirror(await recipe('s3/full:v1'), ['--cache-dir', cacheDir('full')])
      expect(full.downloads.total).toBe(totalBytes)

      const file = await recipe('s3/resumed:v1')
      const killed = await killHalfway(file, cacheDir('resume'))
      const resumed = await mirror(file, ['--cache-dir', cacheDir('resume')])
      expect(resumed.digest).toBe(full.digest)
      expect(
        Object.keys(resumed.downloads.byFile).filter((k) => killed.done.includes(k)),
        'shards finished before the kill',
      ).toEqual([])
      const remaining = Object.entries(model.large).filter(([k]) => !killed.done.includes(k))
      expect(resumed.downloads.total).toBeLessThanOrEqual(remaining.reduce((sum, [, s]) => sum + s, 0) + model.smallBytes)

      // The same without the record: a killed run left no image at its tag, so all is read again.
      const control = await recipe('s3/control:v1')
      const killedToo = await killHalfway(control, cacheDir('control'))
      const noRecord = await mirror(control, ['--no-cache'])
      expect(noRecord.digest).toBe(full.digest)
      for (const k of killedToo.done) expect(noRecord.downloads.byFile[k], `${k} without the record`).toBe(model.large[k])

      // Unchanged, with a fresh cache folder: the checksums name every object before it is read,
      // and the target image has them all.
      const unchanged = await mirror(file, ['--cache-dir', cacheDir('fresh')])
      expect(unchanged.digest).toBe(full.digest)
      expect(unchanged.downloads.total).toBe(0)
      expect((await registryImage(registry, 's3/resumed', 'v1')).digest).toBe(full.digest)
      console.info(
        `s3 → registry (${gib(totalBytes)}): first mirror ${full.seconds.toFixed(1)} s; resume after kill -9: the killed run downloaded ${gib(killed.downloaded)} ` +
          `(${killed.done.join(', ')} done), the resumed one ${gib(resumed.downloads.total)} in ${resumed.seconds.toFixed(1)} s ` +
          `(without the record: ${gib(noRecord.downloads.total)} in ${noRecord.seconds.toFixed(1)} s); unchanged re-mirror, fresh cache folder: ` +
          `${unchanged.seconds.toFixed(2)} s, ${unchanged.downloads.total} B downloaded`,
      )
    },
    SLOW,
  )
})
