#!/usr/bin/env node
// Benchmark: modelcar against the same work done by standard tools, and umoci and olot, on random
// (incompressible) model files.
//
//   npm run bench -- [--size 4GiB] [--files 8] [--runs 3] [--keep] [--workdir DIR] [--strict] [--json]
//
// Each round runs every contender once, in an order that changes from round to round, each on
// the same input files and into a fresh output that is deleted right after:
//   floor          per file `tee OUT < IN | openssl dgst -sha256`, two files at a time, then `sync`:
//                  every byte read, hashed as often as modelcar hashes it (once), written, synced
//   modelcar add   `modelcar add LAYOUT:latest FILES...` on a fresh copy of the busybox layout
//   modelcar run   `modelcar run RECIPE`: local folder source, busybox base, sink = a new layout
//   add --concurrency 1   the same as add, one layer at a time (info: how wall time scales)
//   olot           `olot LAYOUT FILES...` (info): olot from PATH, else `pip install olot` into a
//                  virtualenv in the workdir; skipped, saying why, when neither works (no Python,
//                  or no PyPI)
//   olot, then sync   the same followed by `sync` (the "2 x faster" target): olot never syncs, and
//                  modelcar's layout is on disk when it exits, so this is the same work
//   umoci insert   `umoci insert --image LAYOUT:latest FOLDER /models` on a fresh busybox copy (info)
// Wall time is measured here around the child; peak RSS is the child's ru_maxrss from
// /usr/bin/time (or VmHWM polled from /proc when it is missing). Medians are reported.
// The page cache is left alone (warm against warm): nothing is dropped, and the inputs are read
// once before the first round. Dirty pages are flushed (`sync`, untimed) before each timed step,
// so no contender pays for the write-back of the one before it. modelcar runs with --no-cache:
// every round packages the files as if for the first time (re-runs: incremental-bench.mjs).
//
// Exit status: 0 even when a target is missed (timings here are noisy), unless --strict.
// A contender that fails (non-zero exit, wrong output) is an error: exit 1.
import { defaultConcurrency } from '@modelcar/core'
import { execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { cp, mkdir, open, readFile, readdir, rename, rm, rmdir, stat, statfs, writeFile } from 'node:fs/promises'
import os from 'node:os'
import { basename, dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { buildFixtures } from '../fixtures/build-fixtures.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const repoRoot = resolve(here, '..', '..')
const CLI = join(repoRoot, 'packages', 'cli', 'bin', 'modelcar.js')
const CLI_DIST = join(repoRoot, 'packages', 'cli', 'dist', 'main.js')
const TIME_BIN = '/usr/bin/time'
const BLOCK = 8 << 20
const MB = 1e6
/** Issue 14's targets, each against the same-work floor measured in the same run. */
const TARGETS = { vsFloor: 1.25, rssMB: 150, olotSpeedup: 2 }
const STAMP_VERSION = 1

const USAGE = `usage: node tools/bench/bench.mjs [options]   (npm run bench -- [options])
  --size SIZE      total size of the model files (default 4GiB; B, KiB, MiB, GiB, KB, MB, GB)
  --files N        number of model files (default 8)
  --runs N         rounds; the median is reported (default 3)
  --workdir DIR    where inputs and outputs go (default tools/bench/work/)
  --keep           keep the input files for the next bench (outputs are always deleted)
  --strict         exit 1 when a target is missed
  --json           print the results as one JSON object on stdout (the report goes to stderr)`

// ---------------------------------------------------------------------------------------------
// Arguments

function parseSize(text) {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)b?\s*$/i.exec(text)
  if (!m) throw new UsageError(`--size \`${text}\` is not a size (e.g. 4GiB, 512MiB, 1G)`)
  const power = { '': 0, k: 1, m: 2, g: 3, t: 4 }[m[2].toLowerCase()]
  // A bare K/M/G means binary units (as `head -c 4G`); KB/MB/GB are decimal.
  const binary = m[3] !== '' || !/b$/i.test(text.trim()) || power === 0
  const bytes = Math.round(Number(m[1]) * (binary ? 1024 : 1000) ** power)
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new UsageError(`--size \`${text}\` is out of range`)
  return bytes
}

class UsageError extends Error {}

function parseArgs(argv) {
  const o = {
    size: 4 * 1024 ** 3,
    files: 8,
    runs: 3,
    keep: false,
    strict: false,
    json: false,
    workdir: join(here, 'work'),
  }
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i]
    let value
    const eq = arg.indexOf('=')
    if (arg.startsWith('--') && eq > 0) {
      value = arg.slice(eq + 1)
      arg = arg.slice(0, eq)
    }
    const takeValue = () => {
      if (value !== undefined) return value
      const v = argv[++i]
      if (v === undefined) throw new UsageError(`${arg} needs a value`)
      return v
    }
    const posInt = (name, v) => {
      const n = Number(v)
      if (!Number.isInteger(n) || n < 1) throw new UsageError(`${name} \`${v}\` is not a positive whole number`)
      return n
    }
    switch (arg) {
      case '--size':
        o.size = parseSize(takeValue())
        break
      case '--files':
        o.files = posInt('--files', takeValue())
        break
      case '--runs':
        o.runs = posInt('--runs', takeValue())
        break
      case '--workdir':
        o.workdir = resolve(takeValue())
        break
      case '--keep':
        o.keep = true
        break
      case '--strict':
        o.strict = true
        break
      case '--json':
        o.json = true
        break
      case '--help':
      case '-h':
        o.help = true
        break
      default:
        throw new UsageError(`unknown argument \`${argv[i]}\``)
    }
  }
  if (o.files > o.size) throw new UsageError('--files is larger than --size in bytes')
  return o
}

// ---------------------------------------------------------------------------------------------
// Output helpers

let say = (line = '') => process.stdout.write(`${line}\n`)

function fmtBytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024
    i++
  }
  return `${i === 0 ? n : n.toFixed(n >= 100 ? 0 : n >= 10 ? 1 : 2)} ${units[i]}`
}

const f1 = (n) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(1))
const f2 = (n) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(2))

function median(values) {
  const v = [...values].sort((a, b) => a - b)
  if (v.length === 0) return NaN
  const mid = v.length >> 1
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2
}

function table(rows, align) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)))
  return rows
    .map((r) =>
      r
        .map((cell, c) => (align[c] === 'l' ? String(cell).padEnd(widths[c]) : String(cell).padStart(widths[c])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}

// ---------------------------------------------------------------------------------------------
// Processes

let current // the child being measured, killed on Ctrl-C
let stopping = false
// MODELCAR_BENCH_NO_TIME=1 forces the /proc fallback (to test it).
const hasTime = existsSync(TIME_BIN) && process.env.MODELCAR_BENCH_NO_TIME !== '1'

/**
 * Runs a command to completion; rejects on a non-zero exit with the tail of its output.
 * With `measure`, returns the wall seconds (measured here) and the child's peak RSS in KiB.
 */
function run(cmd, args, { cwd = repoRoot, measure = false, stdout = 'pipe' } = {}) {
  return new Promise((resolvePromise, reject) => {
    let timeFile
    let file = cmd
    let argv = args
    if (measure && hasTime) {
      timeFile = join(os.tmpdir(), `modelcar-bench-${process.pid}-${randomBytes(4).toString('hex')}.time`)
      file = TIME_BIN
      argv = ['-f', '%e %M %U %S', '-o', timeFile, cmd, ...args]
    }
    let tail = ''
    const keep = (chunk) => {
      tail = (tail + chunk.toString()).slice(-8000)
    }
    const started = performance.now()
    // Its own process group, so an interrupt stops /usr/bin/time and the command under it.
    const child = spawn(file, argv, { cwd, stdio: ['ignore', stdout, 'pipe'], detached: true })
    current = child
    child.stdout?.on('data', keep)
    child.stderr.on('data', keep)
    let hwm = 0
    let poll
    if (measure && !hasTime) {
      const sample = () => {
        try {
          const m = /VmHWM:\s+(\d+)\s*kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))
          if (m) hwm = Math.max(hwm, Number(m[1]))
        } catch {
          // the process has exited: its last sample stands
        }
      }
      sample()
      poll = setInterval(sample, 20)
    }
    child.on('error', (err) => {
      clearInterval(poll)
      current = undefined
      reject(err.code === 'ENOENT' ? new Error(`\`${cmd}\` is not installed`) : err)
    })
    child.on('close', async (code, signal) => {
      const seconds = (performance.now() - started) / 1000
      clearInterval(poll)
      current = undefined
      let rssKiB = hwm
      let cpuSeconds
      if (timeFile) {
        const text = await readFile(timeFile, 'utf8').catch(() => '')
        await rm(timeFile, { force: true })
        // GNU time writes "Command exited with non-zero status N" before the format line.
        const last = text.trim().split('\n').pop() ?? ''
        const m = /^([\d.]+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)$/.exec(last.trim())
        if (m) {
          rssKiB = Number(m[2])
          cpuSeconds = Number(m[3]) + Number(m[4])
        }
      }
      if (code !== 0) {
        reject(
          new Error(
            `${[cmd, ...args].map(shortPath).join(' ')} ${signal ? `was killed by ${signal}` : `exited ${code}`}\n${tail.trimEnd()}`,
          ),
        )
        return
      }
      // Node's process warnings (e.g. MaxListenersExceededWarning) are worth a look: report them.
      const warnings = [
        ...new Set(
          tail
            .split('\n')
            .filter((l) => /^\(node:\d+\) \w*Warning/.test(l))
            .map((l) => l.replace(/^\(node:\d+\) /, '')),
        ),
      ]
      resolvePromise({ seconds, rssKiB, cpuSeconds, warnings, output: tail })
    })
  })
}

function shortPath(p) {
  const r = relative(repoRoot, p)
  return p.startsWith('/') && !r.startsWith('..') ? r : p
}

/** Writes dirty pages back (untimed), so the next timed step does not pay for the previous one. */
const settle = () => run('sync', [])

// ---------------------------------------------------------------------------------------------
// Input files

const randomBytesAsync = promisify(randomBytes)

function plannedFiles(size, count) {
  const each = Math.floor(size / count)
  const width = String(count).length
  return Array.from({ length: count }, (_, i) => ({
    name: `model-${String(i + 1).padStart(Math.max(5, width), '0')}-of-${String(count).padStart(Math.max(5, width), '0')}.bin`,
    size: i === count - 1 ? size - each * (count - 1) : each,
  }))
}

async function writeRandomFile(path, size) {
  const handle = await open(path, 'w')
  try {
    let left = size
    let next = randomBytesAsync(Math.min(BLOCK, left))
    while (left > 0) {
      const buf = await next
      left -= buf.byteLength
      next = left > 0 ? randomBytesAsync(Math.min(BLOCK, left)) : undefined
      let off = 0
      while (off < buf.byteLength) off += (await handle.write(buf, off, buf.byteLength - off)).bytesWritten
    }
  } finally {
    await handle.close()
  }
}

/** Creates the model files unless the same set is there already; returns their paths. */
async function ensureInputs(inputDir, stampFile, size, count) {
  const planned = plannedFiles(size, count)
  const stamp = { version: STAMP_VERSION, size, files: planned }
  const existing = await readFile(stampFile, 'utf8').then(JSON.parse, () => undefined)
  const paths = planned.map((f) => join(inputDir, f.name))
  if (existing && JSON.stringify(existing) === JSON.stringify(stamp)) {
    const names = (await readdir(inputDir).catch(() => [])).sort()
    const sizesOk = await Promise.all(
      planned.map((f, i) =>
        stat(paths[i]).then(
          (s) => s.size === f.size,
          () => false,
        ),
      ),
    )
    if (sizesOk.every(Boolean) && names.length === planned.length) return { paths, reused: true }
  }
  await rm(stampFile, { force: true })
  await rm(inputDir, { recursive: true, force: true })
  await mkdir(inputDir, { recursive: true })
  const started = performance.now()
  for (const [i, f] of planned.entries()) {
    const tmp = `${paths[i]}.partial`
    await writeRandomFile(tmp, f.size)
    await rename(tmp, paths[i])
    if (process.stderr.isTTY) process.stderr.write(`\r  writing inputs: ${i + 1}/${planned.length}`)
  }
  process.stderr.write(
    `${process.stderr.isTTY ? '\r' : ''}  wrote ${fmtBytes(size)} of random data in ${((performance.now() - started) / 1000).toFixed(
      1,
    )} s\n`,
  )
  await writeFile(stampFile, JSON.stringify(stamp, null, 2))
  return { paths, reused: false }
}

// ---------------------------------------------------------------------------------------------
// Output checks (untimed): a contender that wrote the wrong thing must not get a time.

async function readJson(path) {
  return JSON.parse(await readFile(path, 'utf8'))
}

/** Layers of the `latest` image in a layout (follows one level of index for a platform). */
async function layoutLayers(layout) {
  const blob = (d) => join(layout, 'blobs', 'sha256', d.digest.slice('sha256:'.length))
  const index = await readJson(join(layout, 'index.json'))
  let desc = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === 'latest') ?? index.manifests[0]
  let doc = await readJson(blob(desc))
  if (doc.manifests) doc = await readJson(blob(doc.manifests.find((m) => m.platform?.architecture === 'amd64') ?? doc.manifests[0]))
  for (const l of doc.layers) {
    const st = await stat(blob(l))
    if (st.size !== l.size) throw new Error(`${layout}: layer ${l.digest} is ${st.size} bytes on disk, ${l.size} in the manifest`)
  }
  return doc.layers
}

async function checkLayout(name, layout, baseLayers, wantLayers, modelBytes, compressed = false) {
  const layers = await layoutLayers(layout)
  if (layers.length !== baseLayers + wantLayers) throw new Error(`${name}: ${layers.length} layers, expected ${baseLayers} + ${wantLayers}`)
  const added = layers.slice(baseLayers).reduce((n, l) => n + l.size, 0)
  // Uncompressed tar: the data plus headers and padding. Gzip of random data: a little more too.
  if (added < modelBytes * (compressed ? 0.99 : 1) || added > modelBytes * 1.01 + (1 << 20)) {
    throw new Error(`${name}: the new layers hold ${added} bytes for ${modelBytes} bytes of model files`)
  }
}

async function checkCopies(dir, inputs) {
  for (const p of inputs) {
    const [a, b] = await Promise.all([stat(p), stat(join(dir, p.split('/').pop()))])
    if (a.size !== b.size) throw new Error(`cp: ${p} copied as ${b.size} bytes`)
  }
}

// ---------------------------------------------------------------------------------------------
// Contenders

/**
 * The contenders' order in a round: from the round's own first one, every s-th, with s the round's
 * step coprime to their number. Who runs right before whom changes from round to round: a plain
 * rotation keeps every pair adjacent, and on this VM a run right after the floor (its 4 GiB output
 * just deleted) copied into the page cache at half speed.
 */
function roundOrder(list, round) {
  const n = list.length
  const gcd = (a, b) => (b === 0 ? a : gcd(b, a % b))
  const steps = list.map((_, s) => s).filter((s) => s > 0 && gcd(s, n) === 1)
  const step = steps[(2 * round + 1) % steps.length] ?? 1
  return list.map((_, i) => list[(round + i * step) % n])
}

/** olot on a fresh copy of the base layout, alone or followed by `sync`. */
function olotContender(ctx, { key, label, sync }) {
  return {
    key,
    label,
    info: true,
    enabled: Boolean(ctx.olot),
    async run() {
      const layout = join(ctx.tmpDir, `${key}-layout`)
      await cp(ctx.base, layout, { recursive: true })
      await settle()
      const r = sync
        ? await run('sh', ['-c', '"$0" "$@" && sync', ctx.olot, layout, ...ctx.inputs], { measure: true })
        : await run(ctx.olot, [layout, ...ctx.inputs], { measure: true })
      await checkLayout(label, layout, ctx.baseLayers, ctx.inputs.length, ctx.size)
      return r
    },
  }
}

function contenders(ctx) {
  const { inputs, inputDir, tmpDir, base, baseLayers, size } = ctx
  const list = [
    {
      key: 'floor',
      label: 'floor: tee + sha256, sync',
      async run() {
        const dest = join(tmpDir, 'floor')
        await mkdir(dest)
        await settle()
        // The same work as modelcar add, with standard tools: every byte read once, hashed once
        // (modelcar hashes each layer; a local file is not hashed on its own), written once, two
        // files at a time, and synced.
        const script =
          'd="$1"; shift; printf "%s\\n" "$@" | xargs -P 2 -I{} sh -c \'tee "$0/$(basename "$1")" < "$1" | openssl dgst -sha256 > /dev/null\' "$d" {} && sync'
        const r = await run('sh', ['-c', script, 'sh', dest, ...inputs], { measure: true })
        await checkCopies(dest, inputs)
        return r
      },
    },
    {
      key: 'add',
      label: 'modelcar add',
      modelcar: true,
      async run() {
        const layout = join(tmpDir, 'add-layout')
        await cp(base, layout, { recursive: true })
        await settle()
        const r = await run(process.execPath, [CLI, 'add', '--no-cache', `${layout}:latest`, ...inputs], { measure: true })
        await checkLayout('modelcar add', layout, baseLayers, inputs.length, size)
        return r
      },
    },
    {
      key: 'run',
      label: 'modelcar run',
      modelcar: true,
      async run() {
        const dir = join(tmpDir, 'run')
        await mkdir(dir)
        const recipe = join(dir, 'recipe.yaml')
        const out = join(dir, 'out')
        await writeFile(
          recipe,
          [
            'apiVersion: modelcar/v1',
            `base: ${JSON.stringify(`oci-layout:${base}:latest`)}`,
            'sources:',
            '  - type: local',
            `    path: ${JSON.stringify(inputDir)}`,
            'sinks:',
            '  - type: oci-layout',
            `    path: ${JSON.stringify(out)}`,
            '',
          ].join('\n'),
        )
        await settle()
        const r = await run(process.execPath, [CLI, 'run', '--no-cache', recipe], { measure: true })
        await checkLayout('modelcar run', out, baseLayers, inputs.length, size)
        return r
      },
    },
    {
      key: 'addSerial',
      label: 'modelcar add --concurrency 1 (info)',
      info: true,
      async run() {
        const layout = join(tmpDir, 'add-serial-layout')
        await cp(base, layout, { recursive: true })
        await settle()
        const r = await run(process.execPath, [CLI, 'add', '--no-cache', '--concurrency', '1', `${layout}:latest`, ...inputs], {
          measure: true,
        })
        await checkLayout('modelcar add --concurrency 1', layout, baseLayers, inputs.length, size)
        return r
      },
    },
    olotContender(ctx, { key: 'olot', label: 'olot (info)', sync: false }),
    // olot never syncs: its layout is in the page cache when it exits, and a crash then loses it.
    // modelcar syncs each blob before naming it; this row is olot doing that same work.
    olotContender(ctx, { key: 'olotSync', label: 'olot, then sync (info)', sync: true }),
    {
      key: 'umoci',
      label: 'umoci insert (gzip)',
      enabled: ctx.umoci,
      async run() {
        const layout = join(tmpDir, 'umoci-layout')
        await cp(base, layout, { recursive: true })
        await settle()
        const r = await run('umoci', ['insert', '--image', `${layout}:latest`, inputDir, '/models'], { measure: true })
        await checkLayout('umoci insert', layout, baseLayers, 1, size, true)
        return r
      },
    },
  ]
  return list.filter((c) => c.enabled !== false)
}

// ---------------------------------------------------------------------------------------------
// Main

async function onPath(cmd) {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, cmd))) return true
  }
  return false
}

/**
 * olot's command: from PATH, else installed from PyPI into a virtualenv kept in the workdir (one
 * install serves every later bench). `{ skip }` says why there is none.
 */
async function findOlot(workdir) {
  if (await onPath('olot')) return { command: 'olot' }
  const venv = join(workdir, 'olot-venv')
  const command = join(venv, 'bin', 'olot')
  if (existsSync(command)) return { command }
  say('olot is not on PATH: installing it from PyPI into a virtualenv (python3 -m venv, pip install olot)')
  const env = { ...process.env, PIP_RETRIES: '0', PIP_TIMEOUT: '20', PIP_DISABLE_PIP_VERSION_CHECK: '1' }
  const steps = [
    ['python3', ['-m', 'venv', venv]],
    [join(venv, 'bin', 'pip'), ['install', '--quiet', 'olot']],
  ]
  for (const [cmd, args] of steps) {
    try {
      await promisify(execFile)(cmd, args, { env, timeout: 300_000 })
    } catch (err) {
      await rm(venv, { recursive: true, force: true })
      const why = String(err.stderr || err.message)
        .trim()
        .split('\n')
        .pop()
      return { skip: `olot could not be had (\`${basename(cmd)} ${args.join(' ')}\`: ${why})` }
    }
  }
  return { command }
}

async function main() {
  let opts
  try {
    opts = parseArgs(process.argv.slice(2))
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    process.stderr.write(`${err.message}\n${USAGE}\n`)
    return 2
  }
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`)
    return 0
  }
  if (opts.json) say = (line = '') => process.stderr.write(`${line}\n`)

  if (!existsSync(CLI_DIST)) {
    process.stderr.write(
      `the CLI is not built (${shortPath(CLI_DIST)} is missing): run \`npx tsc -b packages/cli\` at the repository root\n`,
    )
    return 1
  }
  const umoci = await onPath('umoci')
  const notes = []
  const found = await findOlot(opts.workdir)
  const olot = found.command
  if (found.skip) notes.push(`${found.skip}: its rows and the "2 x faster than olot" target are skipped`)
  if (!umoci) notes.push('umoci is not installed: its row is skipped (Debian package `umoci`)')
  if (!hasTime)
    notes.push(
      `${TIME_BIN} is missing: peak RSS is VmHWM polled every 20 ms from /proc (install the Debian package \`time\` for ru_maxrss)`,
    )

  const workdir = opts.workdir
  const inputDir = join(workdir, 'input')
  const stampFile = join(workdir, 'input.json')
  const tmpDir = join(workdir, 'tmp')
  const baseDir = join(workdir, 'base')

  // Disk: the inputs (unless reused) and one output at a time, plus slack.
  await mkdir(workdir, { recursive: true })
  const fsInfo = await statfs(workdir)
  const free = fsInfo.bavail * fsInfo.bsize
  const reusable = await readFile(stampFile, 'utf8').then(
    (t) => JSON.parse(t).size === opts.size,
    () => false,
  )
  const need = (reusable ? 0 : opts.size) + opts.size * 1.02 + (256 << 20)
  if (free < need) {
    process.stderr.write(`not enough disk under ${workdir}: ${fmtBytes(free)} free, about ${fmtBytes(need)} needed\n`)
    return 1
  }

  let cleaned = false
  const cleanup = async () => {
    if (cleaned) return
    cleaned = true
    await rm(tmpDir, { recursive: true, force: true })
    await rm(baseDir, { recursive: true, force: true })
    if (!opts.keep) {
      await rm(inputDir, { recursive: true, force: true })
      await rm(stampFile, { force: true })
      await rmdir(workdir).catch(() => {})
    }
  }
  const interrupted = async (sig) => {
    stopping = true
    process.stderr.write(`\n${sig}: stopping and cleaning up\n`)
    const child = current
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('close', r))
      try {
        process.kill(-child.pid, 'SIGTERM')
      } catch {
        // already gone
      }
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))])
    }
    await cleanup().catch(() => {})
    process.exit(130)
  }
  process.once('SIGINT', interrupted)
  process.once('SIGTERM', interrupted)

  try {
    say(`modelcar bench: ${fmtBytes(opts.size)} in ${opts.files} files, ${opts.runs} run${opts.runs > 1 ? 's' : ''} (median reported)`)
    say(
      `machine: ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), ${fmtBytes(os.totalmem())} RAM, Node.js ${
        process.version
      }, load ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    )
    say(`workdir: ${workdir}`)
    const { paths: inputs, reused } = await ensureInputs(inputDir, stampFile, opts.size, opts.files)
    if (reused) say(`inputs: reused ${opts.files} files from an earlier --keep run`)
    // Read once: a reused set comes from disk the first time; afterwards every contender reads it warm.
    await run('sh', ['-c', 'cat -- "$@" > /dev/null', 'sh', ...inputs])
    say('page cache: WARM against WARM — nothing is dropped; the inputs were just written/read and every contender reads them from memory.')
    if (opts.size * 2 > os.totalmem() * 0.7) {
      say(
        `  note: inputs + one output (${fmtBytes(opts.size * 2)}) exceed what the page cache of ${fmtBytes(
          os.totalmem(),
        )} keeps: part of each read comes from disk.`,
      )
    }
    say(
      '  dirty pages are written back (`sync`, untimed) before each timed step; the floor syncs once at its end, modelcar fdatasyncs each blob.',
    )
    for (const n of notes) say(`note: ${n}`)

    const fixtures = await buildFixtures()
    await rm(baseDir, { recursive: true, force: true })
    await cp(fixtures.single, baseDir, { recursive: true })
    const baseLayers = (await layoutLayers(baseDir)).length

    const list = contenders({ inputs, inputDir, tmpDir, base: baseDir, baseLayers, size: opts.size, umoci, olot })
    const results = Object.fromEntries(list.map((c) => [c.key, { seconds: [], rssKiB: [], cpu: [], warnings: new Set() }]))
    for (let round = 0; round < opts.runs; round++) {
      for (const c of roundOrder(list, round)) {
        await rm(tmpDir, { recursive: true, force: true })
        await mkdir(tmpDir, { recursive: true })
        process.stderr.write(`  run ${round + 1}/${opts.runs}: ${c.label} … `)
        const r = await c.run()
        process.stderr.write(
          `${r.seconds.toFixed(2)} s, ${((r.rssKiB * 1024) / MB).toFixed(1)} MB${
            r.cpuSeconds === undefined ? '' : `, CPU ${r.cpuSeconds.toFixed(2)} s`
          }, load ${os.loadavg()[0].toFixed(2)}\n`,
        )
        results[c.key].seconds.push(r.seconds)
        results[c.key].rssKiB.push(r.rssKiB)
        if (r.cpuSeconds !== undefined) results[c.key].cpu.push(r.cpuSeconds)
        for (const w of r.warnings) results[c.key].warnings.add(w)
        await rm(tmpDir, { recursive: true, force: true })
      }
    }

    // Summary
    const summary = {}
    for (const c of list) {
      const r = results[c.key]
      const seconds = median(r.seconds)
      summary[c.key] = {
        label: c.label,
        seconds,
        runs: r.seconds.map((s) => Number(s.toFixed(3))),
        peakRssMB: Number(((Math.max(...r.rssKiB) * 1024) / MB).toFixed(1)),
        rssMBRuns: r.rssKiB.map((k) => Number(((k * 1024) / MB).toFixed(1))),
        throughputMBps: Number((opts.size / MB / seconds).toFixed(1)),
        cpuSeconds: r.cpu.length ? Number(median(r.cpu).toFixed(2)) : undefined,
        warnings: [...r.warnings],
      }
    }
    const floor = summary.floor
    for (const s of Object.values(summary)) {
      s.vsFloor = Number((s.seconds / floor.seconds).toFixed(3))
      s.cpuVsFloor = s.cpuSeconds && floor.cpuSeconds ? Number((s.cpuSeconds / floor.cpuSeconds).toFixed(3)) : undefined
      s.seconds = Number(s.seconds.toFixed(3))
    }

    const rows = [['', 'median s', 'runs (s)', 'MB/s', 'peak RSS MB', 'CPU s', 'wall / floor', 'CPU / floor']]
    for (const c of list) {
      const s = summary[c.key]
      rows.push([
        s.label,
        f2(s.seconds),
        s.runs.map(f2).join(' '),
        f1(s.throughputMBps),
        f1(s.peakRssMB),
        f2(s.cpuSeconds),
        f2(s.vsFloor),
        s.cpuVsFloor === undefined ? '-' : f2(s.cpuVsFloor),
      ])
    }
    say('')
    say(table(rows, ['l', 'r', 'l', 'r', 'r', 'r', 'r', 'r']))
    say('  MB = 10^6 bytes; MB/s = model bytes / median wall; peak RSS = highest ru_maxrss over the runs;')
    say('  CPU s = median user+sys of the child (less sensitive than wall to other load on the machine).')
    say(
      `  load average at the end: ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')} (${os.cpus().length} CPUs): other work on the machine inflates wall times.`,
    )
    say('  floor: the same work with standard tools — `tee OUT < IN | openssl dgst -sha256`, two files at a time, then `sync`.')
    if (summary.umoci)
      say('  umoci 0.4.7 always gzips its layer (pgzip, on all cores: CPU s > wall); modelcar and the floor write the bytes as they are.')
    for (const s of Object.values(summary)) for (const w of s.warnings) say(`  warning printed by ${s.label}: ${w}`)

    const targets = []
    for (const c of list.filter((x) => x.modelcar)) {
      const s = summary[c.key]
      targets.push({
        name: `${c.label}: wall <= ${TARGETS.vsFloor} x floor`,
        value: s.vsFloor,
        limit: TARGETS.vsFloor,
        pass: s.vsFloor <= TARGETS.vsFloor,
      })
      if (s.cpuVsFloor !== undefined)
        targets.push({
          name: `${c.label}: CPU <= ${TARGETS.vsFloor} x floor`,
          value: s.cpuVsFloor,
          limit: TARGETS.vsFloor,
          pass: s.cpuVsFloor <= TARGETS.vsFloor,
        })
      targets.push({
        name: `${c.label}: peak RSS <= ${TARGETS.rssMB} MB`,
        value: s.peakRssMB,
        limit: TARGETS.rssMB,
        pass: s.peakRssMB <= TARGETS.rssMB,
      })
    }
    if (summary.olotSync) {
      // Judged against the same work: olot's layout synced as modelcar's is.
      const speedup = Number((summary.olotSync.seconds / summary.add.seconds).toFixed(2))
      targets.push({
        name: `modelcar add: >= ${TARGETS.olotSpeedup} x faster than olot + sync`,
        value: speedup,
        limit: TARGETS.olotSpeedup,
        pass: speedup >= TARGETS.olotSpeedup,
      })
      say(
        `  olot: modelcar add is ${f2(speedup)} x faster than olot followed by \`sync\` (the same work), ${f2(summary.olot.seconds / summary.add.seconds)} x faster than olot alone (whose layout is not yet on disk when it exits)`,
      )
    }
    if (summary.addSerial)
      say(
        `  scaling: modelcar add takes ${f2(summary.addSerial.seconds)} s with --concurrency 1 and ${f2(summary.add.seconds)} s with the default (${defaultConcurrency()} on this machine: one per core, at least 2)`,
      )
    say('')
    say('targets:')
    for (const t of targets)
      say(`  ${t.pass ? 'PASS' : 'FAIL'}  ${t.name.padEnd(46)} ${t.name.includes('RSS') ? `${f1(t.value)} MB` : `${f2(t.value)} x`}`)
    const pass = targets.every((t) => t.pass)
    say(
      pass
        ? 'all targets met'
        : `missed: ${targets.filter((t) => !t.pass).length} target(s)${
            opts.strict ? ' (--strict: exit 1)' : ' (exit 0: timings are noisy; --strict makes this an error)'
          }`,
    )

    if (opts.json) {
      const out = {
        version: 1,
        date: new Date().toISOString(),
        machine: {
          cpus: os.cpus().length,
          cpuModel: os.cpus()[0]?.model,
          memBytes: os.totalmem(),
          node: process.version,
          kernel: os.release(),
          loadavgAtEnd: os.loadavg(),
        },
        params: { sizeBytes: opts.size, files: opts.files, runs: opts.runs, workdir, reusedInputs: reused },
        pageCache: 'warm: nothing dropped; inputs read once before the first round; sync (untimed) before each timed step',
        rssSource: hasTime ? 'ru_maxrss via /usr/bin/time' : 'VmHWM polled from /proc',
        results: summary,
        targets,
        pass,
      }
      process.stdout.write(`${JSON.stringify(out)}\n`)
    }
    return !pass && opts.strict ? 1 : 0
  } finally {
    await cleanup()
  }
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (err) => {
    if (stopping) return // the interrupt handler cleans up and exits
    process.stderr.write(`\nbench failed: ${err?.stack ?? err}\n`)
    process.exitCode = 1
  },
)
