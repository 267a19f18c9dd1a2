#!/usr/bin/env node
// Benchmark: mirroring a Hugging Face repo into an OCI image layout, against a plain download of
// the same files to /dev/null, in the same run, from the same Hub emulator (its own process, on
// loopback). Both sides read two files at a time, as modelcar does on this machine.
//
//   npm run bench:hf -- [--size 4GiB] [--files 8] [--runs 3] [--strict] [--json]
//
// The repo's files are sparse (zeros): the content does not change the cost of streaming,
// hashing and writing it, and 4 GiB need no disk. Targets: ≤ 1.3 × the download, peak RSS ≤ 150 MB.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const repoRoot = resolve(here, '..', '..')
const CLI = join(repoRoot, 'packages', 'cli', 'bin', 'modelcar.js')
const TARGETS = { vsDownload: 1.3, rssMB: 150 }

function parseArgs(argv) {
  const o = { size: 4 * 1024 ** 3, files: 8, runs: 3, strict: false, json: false, workdir: join(here, 'work', 'hf') }
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
    const timeFile = join(os.tmpdir(), `modelcar-hf-bench-${randomBytes(4).toString('hex')}`)
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

/** The emulator runs in a process of its own, as a remote Hub would. */
async function startHub(root) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', `
    const { startHubEmulator } = await import(${JSON.stringify(join(repoRoot, 'tools', 'hub-emulator', 'hub-emulator.mjs'))})
    const hub = await startHubEmulator({ root: ${JSON.stringify(root)} })
    console.log(hub.url)
    process.stdin.on('end', () => hub.stop().then(() => process.exit(0)))
    process.stdin.resume()`], { stdio: ['pipe', 'pipe', 'inherit'] })
  const url = await new Promise((res, rej) => {
    child.stdout.once('data', (d) => res(String(d).trim()))
    child.once('exit', (c) => rej(new Error(`the Hub emulator exited ${c}`)))
  })
  return { url, stop: () => child.stdin.end() }
}

const DOWNLOADER = `
const [base, ...paths] = process.argv.slice(1)
let next = 0
async function worker() {
  while (next < paths.length) {
    const p = paths[next++]
    const res = await fetch(base + p)
    if (!res.ok) throw new Error(p + ': ' + res.status)
    for await (const _ of res.body) {}
  }
}
await Promise.all([worker(), worker()])
`

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]

async function main() {
  const o = parseArgs(process.argv.slice(2))
  if (!existsSync(join(repoRoot, 'packages', 'cli', 'dist', 'main.js'))) throw new Error('build first: npx tsc -b packages/cli')
  if (!existsSync('/usr/bin/time')) throw new Error('/usr/bin/time is missing: apt-get install time')
  const { writeRepo } = await import('../hub-emulator/hub-emulator.mjs')
  await mkdir(o.workdir, { recursive: true })
  const root = join(o.workdir, 'hub')
  const each = Math.floor(o.size / o.files)
  const files = Object.fromEntries(Array.from({ length: o.files }, (_, i) => [`model-${String(i + 1).padStart(5, '0')}-of-${String(o.files).padStart(5, '0')}.safetensors`, { sparseSize: each }]))
  const log = (s) => process.stderr.write(`${s}\n`)
  log(`hf-bench: ${o.files} files of ${(each / 2 ** 20).toFixed(0)} MiB (sparse) on the Hub emulator; ${o.runs} runs; hashing them once first…`)
  const sha = await writeRepo(root, 'bench/model', { files })
  const hub = await startHub(root)
  const recipe = join(o.workdir, 'recipe.yaml')
  const out = join(o.workdir, 'out')
  await writeFile(recipe, `apiVersion: modelcar/v1\nsources:\n  - type: hf\n    repo: bench/model\n    endpoint: ${hub.url}\n    modelcard: false\nsinks:\n  - type: oci-layout\n    path: ./out\n`)
  const urls = Object.keys(files).map((p) => `/bench/model/resolve/${sha}/${p}`)
  const env = { ...process.env, HF_HOME: join(o.workdir, 'no-hf-home'), HF_TOKEN: '' }
  const results = { download: [], modelcar: [] }
  try {
    // Warm-up: the emulator's hash cache and the page cache of the sparse files.
    await measure(process.execPath, ['--input-type=module', '-e', DOWNLOADER, hub.url, ...urls])
    for (let r = 0; r < o.runs; r++) {
      const order = r % 2 === 0 ? ['download', 'modelcar'] : ['modelcar', 'download']
      for (const who of order) {
        await rm(out, { recursive: true, force: true })
        const m =
          who === 'download'
            ? await measure(process.execPath, ['--input-type=module', '-e', DOWNLOADER, hub.url, ...urls])
            : await measure(process.execPath, [CLI, 'run', recipe], { cwd: o.workdir, env })
        results[who].push(m)
        log(`  run ${r + 1} ${who.padEnd(8)} ${m.seconds.toFixed(2)} s  ${m.rssMB.toFixed(0)} MB`)
      }
    }
  } finally {
    hub.stop()
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
  log(`\n  download to /dev/null  ${dl.toFixed(2)} s (median)`)
  log(`  modelcar hf → layout   ${mc.toFixed(2)} s (median), ${summary.throughputMBs.toFixed(0)} MB/s, peak RSS ${rss.toFixed(0)} MB`)
  log(`  ratio ${ratio.toFixed(2)} × download (target ≤ ${TARGETS.vsDownload}): ${summary.pass.ratio ? 'PASS' : 'FAIL'}`)
  log(`  peak RSS ${rss.toFixed(0)} MB (target ≤ ${TARGETS.rssMB}): ${summary.pass.rss ? 'PASS' : 'FAIL'}`)
  if (o.json) process.stdout.write(`${JSON.stringify(summary)}\n`)
  if (o.strict && !(summary.pass.ratio && summary.pass.rss)) process.exitCode = 1
}

main().catch((err) => {
  process.stderr.write(`hf-bench: ${err.message}\n`)
  process.exitCode = 1
})
