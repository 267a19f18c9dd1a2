// Helpers shared by hf-bench, s3-bench, registry-bench and incremental-bench: their command line,
// sizes, what they need before they start, the shard names, measuring a child with /usr/bin/time
// (and killing it with SIGKILL half-way, for the resume bench), the Hub emulator in a process of
// its own (which says how many file bytes it served), a registry with empty storage, the plain
// download the Hub benches compare against, medians, and the alternating rounds and "modelcar
// against the download" report of hf-bench and s3-bench. One copy here, so that every bench
// parses, measures and reports the same way.
// (bench.mjs keeps its own parser and runner: there KB/MB/GB are decimal, a bad argument prints
// its usage, and peak RSS falls back to /proc when /usr/bin/time is missing.)
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import os from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const HUB_EMULATOR = fileURLToPath(new URL('../hub-emulator/hub-emulator.mjs', import.meta.url))
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** The modelcar CLI the benches run. */
export const CLI = join(REPO_ROOT, 'packages', 'cli', 'bin', 'modelcar.js')

/** Throws unless the CLI is built and /usr/bin/time (which measures every child) is installed. */
export function assertBenchReady() {
  if (!existsSync(join(REPO_ROOT, 'packages', 'cli', 'dist', 'main.js'))) throw new Error('build first: npx tsc -b packages/cli')
  if (!existsSync('/usr/bin/time')) throw new Error('/usr/bin/time is missing: apt-get install time')
}

/** `model-00001-of-00008.safetensors` …: the names of `n` weight shards, as Hugging Face repos name them. */
export const shardNames = (n) =>
  Array.from({ length: n }, (_, i) => `model-${String(i + 1).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.safetensors`)

/** `4GiB`, `512m`, `64MiB`, `1.5g`, `4096`: K, M and G are binary, with or without `iB`/`B`. */
export function parseSize(text) {
  const m = /^(\d+(?:\.\d+)?)\s*(|k|m|g)i?b?$/i.exec(String(text).trim())
  if (!m) throw new Error(`--size \`${text}\` is not a size (e.g. 4GiB)`)
  return Math.round(Number(m[1]) * 1024 ** { '': 0, k: 1, m: 2, g: 3 }[m[2].toLowerCase()])
}

/**
 * The flags every bench takes: --size, --files, --runs, --workdir, --strict, --json; with
 * `{ concurrency: true }`, also --concurrency N (kept as text, passed on to `modelcar run`).
 * `defaults` gives the workdir and whatever differs from 4 GiB in 8 files, 3 runs; `scriptUrl`
 * (import.meta.url) names the script whose header an unknown argument points to.
 */
export function parseBenchArgs(argv, defaults, scriptUrl, { concurrency = false } = {}) {
  const o = { size: 4 * 1024 ** 3, files: 8, runs: 3, strict: false, json: false, ...defaults }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--size') o.size = parseSize(argv[++i])
    else if (a === '--files') o.files = Number(argv[++i])
    else if (a === '--runs') o.runs = Number(argv[++i])
    else if (a === '--workdir') o.workdir = resolve(argv[++i])
    else if (a === '--concurrency' && concurrency) o.concurrency = argv[++i]
    else if (a === '--strict') o.strict = true
    else if (a === '--json') o.json = true
    else throw new Error(`unknown argument \`${a}\` (see the header of ${fileURLToPath(scriptUrl)})`)
  }
  if (!(o.files >= 1 && o.runs >= 1)) throw new Error('--files and --runs take whole numbers ≥ 1')
  return o
}

/**
 * Runs a child under /usr/bin/time; resolves its wall seconds (measured here), peak RSS in MB and
 * user+sys CPU seconds (from /usr/bin/time), and its stdout. Rejects on a non-zero exit, with its stderr.
 * `watch.onLine(line, kill)` sees each line of its stdout as it comes; `kill()` sends SIGKILL to
 * the measured command (not to /usr/bin/time, which then still reports), and the measure resolves
 * with `killed: true` instead of rejecting.
 */
export function measure(cmd, args, opts = {}, watch = undefined) {
  return new Promise((resolveRun, reject) => {
    const timeFile = join(os.tmpdir(), `modelcar-bench-measure-${randomBytes(4).toString('hex')}`)
    const started = performance.now()
    const child = spawn('/usr/bin/time', ['-f', '%U %S %M', '-o', timeFile, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...opts })
    let out = ''
    let err = ''
    let pending = ''
    let killed = false
    const kill = () => {
      killed = true
      const measured = childPids(child.pid)
      if (measured.length === 0) child.kill('SIGKILL')
      for (const pid of measured) process.kill(pid, 'SIGKILL')
    }
    child.stdout.on('data', (d) => {
      out += d
      if (!watch) return
      pending += d
      const lines = pending.split('\n')
      pending = lines.pop()
      for (const line of lines) if (!killed) watch.onLine(line, kill)
    })
    child.stderr.on('data', (d) => (err += d))
    child.on('error', reject)
    child.on('close', async (code) => {
      const seconds = (performance.now() - started) / 1000
      // GNU time writes "Command exited with non-zero status N" (or "Command terminated by signal
      // N") before the format line: take the last.
      const [user, sys, rssKB] = (await readFile(timeFile, 'utf8').catch(() => '0 0 0')).trim().split('\n').pop().split(' ').map(Number)
      await rm(timeFile, { force: true })
      if (code !== 0 && !killed) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}\n${err}`))
      else resolveRun({ seconds, rssMB: (rssKB * 1024) / 1e6, cpuSeconds: user + sys, stdout: out, killed })
    })
  })
}

/** The processes `pid` started (Linux: /proc/PID/task/PID/children). */
function childPids(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
  } catch {
    return []
  }
}

/**
 * The Hub emulator serving `root`, in a process of its own, as a remote Hub would be; stop() ends
 * it. served() resolves what it has served so far: file body bytes (the Hub's resolve route and
 * the CDN), file responses that carried bytes, and all requests (the JSON API included).
 */
export async function startHubProcess(root) {
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `
    const { startHubEmulator } = await import(${JSON.stringify(HUB_EMULATOR)})
    const hub = await startHubEmulator({ root: ${JSON.stringify(root)} })
    console.log(hub.url)
    let asked = ''
    process.stdin.setEncoding('utf8')
    process.stdin.on('data', (d) => {
      asked += d
      for (let i = asked.indexOf('\\n'); i >= 0; i = asked.indexOf('\\n')) {
        asked = asked.slice(i + 1)
        let bytes = 0
        let files = 0
        for (const r of hub.requests) {
          bytes += r.bytes
          if (r.bytes > 0) files++
        }
        console.log(JSON.stringify({ bytes, files, requests: hub.requests.length }))
      }
    })
    process.stdin.on('end', () => hub.stop().then(() => process.exit(0)))`,
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  )
  const lines = []
  const waiting = []
  let pending = ''
  child.stdout.on('data', (d) => {
    pending += d
    const parts = pending.split('\n')
    pending = parts.pop()
    for (const line of parts) (waiting.shift() ?? ((l) => lines.push(l)))(line)
  })
  const nextLine = () => new Promise((res) => (lines.length ? res(lines.shift()) : waiting.push(res)))
  const url = await new Promise((res, rej) => {
    nextLine().then((l) => res(l.trim()))
    child.once('exit', (c) => rej(new Error(`the Hub emulator exited ${c}`)))
  })
  return {
    url,
    async served() {
      child.stdin.write('served\n')
      return JSON.parse(await nextLine())
    },
    stop: () => child.stdin.end(),
  }
}

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer()
    s.once('error', rej)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => res(port))
    })
  })
}

/** A docker-registry on loopback with empty storage under dir; stop() kills it and removes the storage. */
export async function startRegistry(dir) {
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true })
  const port = await freePort()
  const host = `127.0.0.1:${port}`
  await writeFile(
    join(dir, 'config.yml'),
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${JSON.stringify(join(dir, 'data'))}\nhttp:\n  addr: ${host}\n  secret: modelcar-bench\n`,
  )
  const child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: 'ignore' })
  child.on('error', (err) => process.stderr.write(`docker-registry: ${err.message} (apt-get install docker-registry)\n`))
  for (let i = 0; i < 200; i++) {
    const ok = await fetch(`http://${host}/v2/`).then(
      (r) => r.ok,
      () => false,
    )
    if (ok) break
    await new Promise((r) => setTimeout(r, 50))
  }
  return {
    host,
    async stop() {
      child.kill('SIGTERM')
      await new Promise((r) => child.once('close', r))
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/**
 * The same work as a remote source with standard tools, as the floor of hf-bench and s3-bench:
 * each URL fetched by curl, hashed twice by openssl (what modelcar does: the content digest it
 * checks or records, and the layer digest), written into `outDir`, two files at a time, then
 * `sync`. Resolves a measure().
 */
export function sameWorkDownload(urls, outDir) {
  const one =
    'f=$(mktemp -u); mkfifo "$f"; openssl dgst -sha256 < "$f" > /dev/null & h=$!; ' +
    'curl -sfL "$1" | tee "$f" | tee "$2" | openssl dgst -sha256 > /dev/null; s=$?; wait $h; rm -f "$f"; exit $s'
  const script = `mkdir -p "$0" && printf '%s\n' "$@" | xargs -P 2 -n 2 sh -c '${one}' sh && sync`
  return measure('sh', ['-c', script, outDir, ...urls.flatMap((u, i) => [u, join(outDir, `file-${i}`)])])
}

/**
 * `runs` rounds of `contenders.download()` and `contenders.modelcar()` (each resolving a
 * measure()), in an order that alternates from round to round; `before` runs, untimed, ahead of
 * each. Logs every measurement; resolves them by contender.
 */
export async function alternatingRuns(runs, contenders, before) {
  const results = { download: [], modelcar: [] }
  for (let r = 0; r < runs; r++) {
    const order = r % 2 === 0 ? ['download', 'modelcar'] : ['modelcar', 'download']
    for (const who of order) {
      await before()
      const m = await contenders[who]()
      results[who].push(m)
      process.stderr.write(`  run ${r + 1} ${who.padEnd(8)} ${m.seconds.toFixed(2)} s  ${m.rssMB.toFixed(0)} MB\n`)
    }
  }
  return results
}

/** The median of the runs (the lower middle one of an even count). */
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]

/**
 * The report of hf-bench and s3-bench: modelcar against the same work done by standard tools,
 * medians of `results.download` (the floor) and `results.modelcar`, wall and CPU, checked against
 * `targets` ({ vsDownload, rssMB }). `labels` names the two rows; the report goes to stderr, the
 * summary to stdout with `json`, and a missed target sets exit status 1 with `strict`.
 */
export function reportAgainstDownload(results, { bytes, targets, labels, json, strict }) {
  const log = (s) => process.stderr.write(`${s}\n`)
  const dl = median(results.download.map((m) => m.seconds))
  const mc = median(results.modelcar.map((m) => m.seconds))
  const dlCpu = median(results.download.map((m) => m.cpuSeconds))
  const mcCpu = median(results.modelcar.map((m) => m.cpuSeconds))
  const rss = Math.max(...results.modelcar.map((m) => m.rssMB))
  const ratio = mc / dl
  const cpuRatio = mcCpu / dlCpu
  const summary = {
    bytes,
    floorSeconds: dl,
    modelcarSeconds: mc,
    floorCpuSeconds: dlCpu,
    modelcarCpuSeconds: mcCpu,
    ratio,
    cpuRatio,
    peakRssMB: rss,
    throughputMBs: bytes / 1e6 / mc,
    pass: { ratio: ratio <= targets.vsDownload, cpu: cpuRatio <= targets.vsDownload, rss: rss <= targets.rssMB },
  }
  const width = Math.max(labels.download.length, labels.modelcar.length) + 2
  log(`\n  ${labels.download.padEnd(width)}${dl.toFixed(2)} s, CPU ${dlCpu.toFixed(2)} s (medians)`)
  log(
    `  ${labels.modelcar.padEnd(width)}${mc.toFixed(2)} s, CPU ${mcCpu.toFixed(2)} s (medians), ${summary.throughputMBs.toFixed(0)} MB/s, peak RSS ${rss.toFixed(0)} MB`,
  )
  log(`  wall ${ratio.toFixed(2)} × floor (target ≤ ${targets.vsDownload}): ${summary.pass.ratio ? 'PASS' : 'FAIL'}`)
  log(`  CPU  ${cpuRatio.toFixed(2)} × floor (target ≤ ${targets.vsDownload}): ${summary.pass.cpu ? 'PASS' : 'FAIL'}`)
  log(`  peak RSS ${rss.toFixed(0)} MB (target ≤ ${targets.rssMB}): ${summary.pass.rss ? 'PASS' : 'FAIL'}`)
  if (json) process.stdout.write(`${JSON.stringify(summary)}\n`)
  if (strict && !(summary.pass.ratio && summary.pass.cpu && summary.pass.rss)) process.exitCode = 1
}
