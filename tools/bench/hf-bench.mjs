#!/usr/bin/env node
// Benchmark: mirroring a Hugging Face repo into an OCI image layout, against the same work done by
// standard tools in the same run, from the same Hub emulator (its own process, on loopback): curl
// downloads each file, openssl hashes it twice (the LFS sha256 modelcar checks, the layer digest),
// tee writes it, two files at a time, then sync.
//
//   npm run bench:hf -- [--size 4GiB] [--files 8] [--runs 3] [--strict] [--json]
//
// The repo's files are sparse (zeros): the content does not change the cost of streaming,
// hashing and writing it. Targets: ≤ 1.25 × the floor in wall and in CPU, peak RSS ≤ 150 MB.
// modelcar runs with --no-cache: each run is a first mirror (re-runs: incremental-bench.mjs).
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  alternatingRuns,
  assertBenchReady,
  CLI,
  measure,
  parseBenchArgs,
  reportAgainstDownload,
  sameWorkDownload,
  shardNames,
  startHubProcess,
} from './bench-support.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const TARGETS = { vsDownload: 1.25, rssMB: 150 }

async function main() {
  const o = parseBenchArgs(process.argv.slice(2), { workdir: join(here, 'work', 'hf') }, import.meta.url)
  assertBenchReady()
  const { writeRepo } = await import('../hub-emulator/hub-emulator.mjs')
  await mkdir(o.workdir, { recursive: true })
  const root = join(o.workdir, 'hub')
  const each = Math.floor(o.size / o.files)
  const files = Object.fromEntries(shardNames(o.files).map((name) => [name, { sparseSize: each }]))
  const log = (s) => process.stderr.write(`${s}\n`)
  log(
    `hf-bench: ${o.files} files of ${(each / 2 ** 20).toFixed(0)} MiB (sparse) on the Hub emulator; ${o.runs} runs; hashing them once first…`,
  )
  const sha = await writeRepo(root, 'bench/model', { files })
  const hub = await startHubProcess(root)
  const recipe = join(o.workdir, 'recipe.yaml')
  const out = join(o.workdir, 'out')
  await writeFile(
    recipe,
    `apiVersion: modelcar/v1\nsources:\n  - type: hf\n    repo: bench/model\n    endpoint: ${hub.url}\n    modelcard: false\nsinks:\n  - type: oci-layout\n    path: ./out\n`,
  )
  const urls = Object.keys(files).map((p) => `/bench/model/resolve/${sha}/${p}`)
  const env = { ...process.env, HF_HOME: join(o.workdir, 'no-hf-home'), HF_TOKEN: '' }
  const floorOut = join(o.workdir, 'floor')
  const download = () =>
    sameWorkDownload(
      urls.map((u) => `${hub.url}${u}`),
      floorOut,
    )
  let results
  try {
    // Warm-up: the emulator's hash cache and the page cache of the sparse files.
    await download()
    results = await alternatingRuns(
      o.runs,
      { download, modelcar: () => measure(process.execPath, [CLI, 'run', '--no-cache', recipe], { cwd: o.workdir, env }) },
      async () => {
        await rm(out, { recursive: true, force: true })
        await rm(floorOut, { recursive: true, force: true })
      },
    )
  } finally {
    hub.stop()
    await rm(out, { recursive: true, force: true })
    await rm(floorOut, { recursive: true, force: true })
  }
  reportAgainstDownload(results, {
    bytes: each * o.files,
    targets: TARGETS,
    labels: { download: 'floor: curl | 2 × sha256 | tee, sync', modelcar: 'modelcar hf → layout' },
    json: o.json,
    strict: o.strict,
  })
}

main().catch((err) => {
  process.stderr.write(`hf-bench: ${err.message}\n`)
  process.exitCode = 1
})
