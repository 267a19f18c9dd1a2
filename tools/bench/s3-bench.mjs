#!/usr/bin/env node
// Benchmark: packaging a prefix of an S3 bucket into an OCI image layout, against a plain
// GetObject of the same objects to /dev/null with the same AWS SDK, in the same run, from the
// same s3rver (its own process, on loopback). Both sides read two objects at a time, as modelcar
// does on this machine.
//
//   npm run bench:s3 -- [--size 4GiB] [--files 8] [--runs 3] [--strict] [--json] [--workdir DIR]
//
// The objects hold zeros (uploaded once from a sparse file and kept in the workdir between
// invocations): the content does not change the cost of streaming, hashing and writing it.
// s3rver keeps objects as plain files, so after the warm-up both sides read from the page cache.
// Targets: ≤ 1.3 × the download, peak RSS ≤ 150 MB.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { HeadObjectCommand } from '@aws-sdk/client-s3'
import { putObjects, seedClient, startS3Server } from '../s3-server/s3-server.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const repoRoot = resolve(here, '..', '..')
const CLI = join(repoRoot, 'packages', 'cli', 'bin', 'modelcar.js')
const TARGETS = { vsDownload: 1.3, rssMB: 150 }
const BUCKET = 'bench'

function parseArgs(argv) {
  const o = { size: 4 * 1024 ** 3, files: 8, runs: 3, strict: false, json: false, workdir: join(here, 'work', 's3') }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--size') o.size = parseSize(argv[++i])
    else if (a === '--files') o.files = Number(argv[++i])
    else if (a === '--runs') o.runs = Number(argv[++i])
    else if (a === '--workdir') o.workdir = resolve(argv[++i])
    else if (a === '--strict') o.strict = true
    else if (a === '--json') o.json = true
    else throw new Error(`unknown argument \`${a}\` (see the header of ${fileURLToPath(import.meta.url)})`)
  }
  if (!(o.files >= 1 && o.runs >= 1)) throw new Error('--files and --runs take whole numbers ≥ 1')
  return o
}

function parseSize(text) {
  const m = /^(\d+(?:\.\d+)?)\s*(|k|m|g)i?b?$/i.exec(String(text).trim())
  if (!m) throw new Error(`--size \`${text}\` is not a size (e.g. 4GiB)`)
  return Math.round(Number(m[1]) * 1024 ** { '': 0, k: 1, m: 2, g: 3 }[m[2].toLowerCase()])
}

/** Runs a child; resolves wall seconds (measured here) and its peak RSS (from /usr/bin/time). */
function measure(cmd, args, opts = {}) {
  return new Promise((resolveRun, reject) => {
    const timeFile = join(os.tmpdir(), `modelcar-s3-bench-${randomBytes(4).toString('hex')}`)
    const started = performance.now()
    const child = spawn('/usr/bin/time', ['-f', '%M', '-o', timeFile, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...opts })
    let err = ''
    child.stdout.resume()
    child.stderr.on('data', (d) => (err += d))
    child.on('error', reject)
    child.on('close', async (code) => {
      const seconds = (performance.now() - started) / 1000
      const rssKB = Number((await readFile(timeFile, 'utf8').catch(() => '0')).trim().split('\n').pop())
      await rm(timeFile, { force: true })
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}\n${err}`))
      else resolveRun({ seconds, rssMB: (rssKB * 1024) / 1e6 })
    })
  })
}

// The floor: the same SDK, the same client settings as the source, bodies drained.
const DOWNLOADER = `
import { S3Client, GetObjectCommand } from '@aws-sdk/client-s3'
const [endpoint, bucket, ...keys] = process.argv.slice(1)
const s3 = new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' })
let next = 0
async function worker() {
  while (next < keys.length) {
    const Key = keys[next++]
    const { Body } = await s3.send(new GetObjectCommand({ Bucket: bucket, Key }))
    for await (const _ of Body) {}
  }
}
await Promise.all([worker(), worker()])
`

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]

async function main() {
  const o = parseArgs(process.argv.slice(2))
  if (!existsSync(join(repoRoot, 'packages', 'cli', 'dist', 'main.js'))) throw new Error('build first: npx tsc -b packages/cli')
  if (!existsSync('/usr/bin/time')) throw new Error('/usr/bin/time is missing: apt-get install time')
  await mkdir(o.workdir, { recursive: true })
  const each = Math.floor(o.size / o.files)
  const keys = Array.from({ length: o.files }, (_, i) => `model/model-${String(i + 1).padStart(5, '0')}-of-${String(o.files).padStart(5, '0')}.safetensors`)
  const log = (s) => process.stderr.write(`${s}\n`)
  const s3 = await startS3Server({ directory: join(o.workdir, 'data'), buckets: [BUCKET] })
  const seed = seedClient(s3.url)
  const recipe = join(o.workdir, 'recipe.yaml')
  const out = join(o.workdir, 'out')
  const results = { download: [], modelcar: [] }
  try {
    const present = await Promise.all(keys.map((Key) => seed.send(new HeadObjectCommand({ Bucket: BUCKET, Key })).then((h) => h.ContentLength === each, () => false)))
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
    await writeFile(recipe, `apiVersion: modelcar/v1\nsources:\n  - type: s3\n    bucket: ${BUCKET}\n    prefix: model\n    endpoint: ${s3.url}\nsinks:\n  - type: oci-layout\n    path: ./out\n`)
    const env = { ...process.env, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_EC2_METADATA_DISABLED: 'true', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }
    const download = () => measure(process.execPath, ['--input-type=module', '-e', DOWNLOADER, s3.url, BUCKET, ...keys], { cwd: join(repoRoot, 'tools'), env })
    // Warm-up: s3rver's files into the page cache.
    await download()
    for (let r = 0; r < o.runs; r++) {
      const order = r % 2 === 0 ? ['download', 'modelcar'] : ['modelcar', 'download']
      for (const who of order) {
        await rm(out, { recursive: true, force: true })
        const m = who === 'download' ? await download() : await measure(process.execPath, [CLI, 'run', recipe], { cwd: o.workdir, env })
        results[who].push(m)
        log(`  run ${r + 1} ${who.padEnd(8)} ${m.seconds.toFixed(2)} s  ${m.rssMB.toFixed(0)} MB`)
      }
    }
  } finally {
    seed.destroy()
    await s3.stop()
    await rm(out, { recursive: true, force: true })
  }
  const dl = median(results.download.map((m) => m.seconds))
  const mc = median(results.modelcar.map((m) => m.seconds))
  const rss = Math.max(...results.modelcar.map((m) => m.rssMB))
  const ratio = mc / dl
  const summary = {
    bytes: each * o.files,
    downloadSeconds: dl,
    modelcarSeconds: mc,
    ratio,
    peakRssMB: rss,
    throughputMBs: (each * o.files) / 1e6 / mc,
    pass: { ratio: ratio <= TARGETS.vsDownload, rss: rss <= TARGETS.rssMB },
  }
  log(`\n  GetObject to /dev/null  ${dl.toFixed(2)} s (median)`)
  log(`  modelcar s3 → layout    ${mc.toFixed(2)} s (median), ${summary.throughputMBs.toFixed(0)} MB/s, peak RSS ${rss.toFixed(0)} MB`)
  log(`  ratio ${ratio.toFixed(2)} × download (target ≤ ${TARGETS.vsDownload}): ${summary.pass.ratio ? 'PASS' : 'FAIL'}`)
  log(`  peak RSS ${rss.toFixed(0)} MB (target ≤ ${TARGETS.rssMB}): ${summary.pass.rss ? 'PASS' : 'FAIL'}`)
  if (o.json) process.stdout.write(`${JSON.stringify(summary)}\n`)
  if (o.strict && !(summary.pass.ratio && summary.pass.rss)) process.exitCode = 1
}

main().catch((err) => {
  process.stderr.write(`s3-bench: ${err.message}\n`)
  process.exitCode = 1
})
