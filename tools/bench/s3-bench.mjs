#!/usr/bin/env node
// Benchmark: packaging a prefix of an S3 bucket into an OCI image layout, against the same work
// done by standard tools in the same run, from the same s3rver (its own process, on loopback):
// curl GETs each object, openssl hashes it twice (the content digest modelcar records, the layer
// digest), tee writes it, two objects at a time, then sync.
//
//   npm run bench:s3 -- [--size 4GiB] [--files 8] [--runs 3] [--strict] [--json] [--workdir DIR]
//
// The objects hold zeros (uploaded once from a sparse file and kept in the workdir between
// invocations): the content does not change the cost of streaming, hashing and writing it.
// s3rver keeps objects as plain files, so after the warm-up both sides read from the page cache.
// Targets: ≤ 1.25 × the floor in wall and in CPU, peak RSS ≤ 150 MB. modelcar runs with --no-cache: each run is a
// first one (re-runs: incremental-bench.mjs).
import { mkdir, open, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { HeadObjectCommand } from '@aws-sdk/client-s3'
import { putObjects, seedClient, startS3Server } from '../s3-server/s3-server.mjs'
import {
  alternatingRuns,
  assertBenchReady,
  CLI,
  measure,
  parseBenchArgs,
  reportAgainstDownload,
  sameWorkDownload,
  shardNames,
} from './bench-support.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const TARGETS = { vsDownload: 1.25, rssMB: 150 }
const BUCKET = 'bench'

async function main() {
  const o = parseBenchArgs(process.argv.slice(2), { workdir: join(here, 'work', 's3') }, import.meta.url)
  assertBenchReady()
  await mkdir(o.workdir, { recursive: true })
  const each = Math.floor(o.size / o.files)
  const keys = shardNames(o.files).map((name) => `model/${name}`)
  const log = (s) => process.stderr.write(`${s}\n`)
  const s3 = await startS3Server({ directory: join(o.workdir, 'data'), buckets: [BUCKET] })
  const seed = seedClient(s3.url)
  const recipe = join(o.workdir, 'recipe.yaml')
  const out = join(o.workdir, 'out')
  let results
  try {
    const present = await Promise.all(
      keys.map((Key) =>
        seed.send(new HeadObjectCommand({ Bucket: BUCKET, Key })).then(
          (h) => h.ContentLength === each,
          () => false,
        ),
      ),
    )
    const missing = keys.filter((_, i) => !present[i])
    if (missing.length) {
      log(`s3-bench: uploading ${missing.length} objects of ${(each / 2 ** 20).toFixed(0)} MiB (zeros) to s3rver, once…`)
      const sparse = join(o.workdir, 'zeros.bin')
      const fh = await open(sparse, 'w')
      await fh.truncate(each)
      await fh.close()
      await putObjects(seed, BUCKET, Object.fromEntries(missing.map((k) => [k, { file: sparse }])), { concurrency: 2 })
      await rm(sparse, { force: true })
    }
    log(`s3-bench: ${o.files} objects of ${(each / 2 ** 20).toFixed(0)} MiB in s3rver; ${o.runs} runs`)
    await writeFile(
      recipe,
      `apiVersion: modelcar/v1\nsources:\n  - type: s3\n    bucket: ${BUCKET}\n    prefix: model\n    endpoint: ${s3.url}\nsinks:\n  - type: oci-layout\n    path: ./out\n`,
    )
    const env = {
      ...process.env,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_EC2_METADATA_DISABLED: 'true',
    }
    // s3rver answers unsigned GETs, so curl fetches what the SDK would.
    const floorOut = join(o.workdir, 'floor')
    const download = () =>
      sameWorkDownload(
        keys.map((k) => `${s3.url}/${BUCKET}/${k}`),
        floorOut,
      )
    // Warm-up: s3rver's files into the page cache.
    await download()
    results = await alternatingRuns(
      o.runs,
      { download, modelcar: () => measure(process.execPath, [CLI, 'run', '--no-cache', recipe], { cwd: o.workdir, env }) },
      async () => {
        await rm(out, { recursive: true, force: true })
        await rm(join(o.workdir, 'floor'), { recursive: true, force: true })
      },
    )
  } finally {
    seed.destroy()
    await s3.stop()
    await rm(out, { recursive: true, force: true })
  }
  reportAgainstDownload(results, {
    bytes: each * o.files,
    targets: TARGETS,
    labels: { download: 'floor: curl | 2 × sha256 | tee, sync', modelcar: 'modelcar s3 → layout' },
    json: o.json,
    strict: o.strict,
  })
}

main().catch((err) => {
  process.stderr.write(`s3-bench: ${err.message}\n`)
  process.exitCode = 1
})
