#!/usr/bin/env node
// Benchmark of incremental, resumable mirroring (issue 11): a model of large LFS files mirrored
// from the Hub emulator (its own process) into a local registry, four ways:
//   first mirror     an empty registry and an empty record of layers (--cache-dir)
//   unchanged        the same recipe again: nothing should be read
//   one-file update  one weight shard (same size, other bytes) and the README changed on `main`
//   resume           a fresh mirror (new registry, new record) killed with SIGKILL once half the
//                    large layers are done and in the record, then run again
// For each: wall and CPU seconds (user + sys of the modelcar child), its peak RSS, and the file
// bytes the emulator served (Hub and CDN bodies; the JSON API is counted in requests only).
//
//   npm run bench:incremental -- [--size 2GiB] [--files 4] [--runs 1] [--concurrency N] [--strict] [--json]
//
// The shards are sparse (zeros) but the updated one, which is written out: content does not
// change the cost of streaming, hashing and uploading. Every check of the issue is a target:
// unchanged: ≤ 1 MiB served, ≤ 5 s, the same digest; update: only the changed files served, the
// other layers keep their digests; resume: the killed run and the next one serve at most the model
// plus what was in flight at the kill, and give the digest a run without a kill gives.
import { readFile, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { assertBenchReady, CLI, measure, median, parseBenchArgs, shardNames, startHubProcess, startRegistry } from './bench-support.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const MiB = 2 ** 20
const TARGETS = { unchangedSeconds: 5, unchangedServed: MiB, slack: MiB }
const CARD = '---\nlicense: apache-2.0\n---\n# bench\n'
const CONFIG = '{"model_type":"llama","bench":true}\n'
const PHASES = ['first', 'unchanged', 'update', 'killed', 'resumed']
const LABELS = {
  first: 'first mirror',
  unchanged: 'unchanged re-mirror',
  update: 'one-file update',
  killed: 'resume: run killed (-9)',
  resumed: 'resume: run again',
}

const log = (s) => process.stderr.write(`${s}\n`)
const lastLine = (s) => s.trim().split('\n').at(-1)
const mib = (n) => (n === 0 ? '0 B' : n < MiB ? `${(n / 1024).toFixed(1)} KiB` : `${(n / MiB).toFixed(n < 10 * MiB ? 2 : 0)} MiB`)

/** The repo on the emulator's disk: the model as first published, and `main` after one update. */
async function writeModel(hubRoot, o) {
  const { addCommit, writeRepo } = await import('../hub-emulator/hub-emulator.mjs')
  const each = Math.floor(o.size / o.files)
  const names = shardNames(o.files)
  const files = { ...Object.fromEntries(names.map((n) => [n, { sparseSize: each }])), 'README.md': CARD, 'config.json': CONFIG }
  const changed = names[Math.floor(o.files / 2)]
  // Same size, other bytes: what a fine-tune does to a shard. Written out (not sparse).
  const updated = Buffer.alloc(each)
  updated.write('updated weights', 0)
  const original = () => writeRepo(hubRoot, 'bench/model', { files })
  await original()
  const update = () => addCommit(hubRoot, 'bench/model', { [changed]: updated, 'README.md': `${CARD}\nUpdated.\n` }, { title: 'Update' })
  return { each, names, changed, original, update, smallBytes: Buffer.byteLength(CARD) + Buffer.byteLength(CONFIG) + 16 }
}

/** The layers of the image at `ref` in the registry, by title (the file each holds). */
async function layersByTitle(host, repo, ref) {
  const accept = ['application/vnd.oci.image.index.v1+json', 'application/vnd.oci.image.manifest.v1+json'].join(', ')
  const get = async (r) => {
    const res = await fetch(`http://${host}/v2/${repo}/manifests/${r}`, { headers: { accept } })
    if (!res.ok) throw new Error(`GET ${repo} manifest ${r}: ${res.status}`)
    return res.json()
  }
  let doc = await get(ref)
  if (doc.manifests) doc = await get(doc.manifests[0].digest)
  return new Map(doc.layers.map((l) => [l.annotations?.['org.opencontainers.image.title'] ?? l.digest, l.digest]))
}

/** One run of modelcar, measured, with what the emulator served meanwhile. */
async function mirror(ctx, recipe, cacheDir, watch) {
  const before = await ctx.hub.served()
  const args = [CLI, 'run', recipe, '--cache-dir', cacheDir, ...ctx.cc, ...(watch ? ['--json'] : [])]
  const m = await measure(process.execPath, args, { cwd: ctx.w, env: ctx.env }, watch)
  if (m.killed) await sleep(300) // the emulator notices the closed sockets
  const after = await ctx.hub.served()
  return { ...m, served: after.bytes - before.bytes, requests: after.requests - before.requests, digest: lastLine(m.stdout) }
}

async function recipeFor(ctx, name, host, repo) {
  const file = join(ctx.w, `${name}.yaml`)
  await writeFile(
    file,
    `apiVersion: modelcar/v1\nsources:\n  - type: hf\n    repo: bench/model\n    endpoint: ${ctx.hub.url}\nsinks:\n  - type: registry\n    ref: ${host}/${repo}:v1\n`,
  )
  return file
}

/**
 * Kills the run once `want` large layers are done (layer-done, not skipped) and each of them is in
 * the record: a layer is "finished" for the next run only once it is recorded, a few ms after the event.
 */
function killAfterLayers(model, cacheDir, want) {
  const sizes = new Map()
  const done = []
  let killing = false
  const state = { done, inFlight: 0 }
  const watch = {
    onLine(line, kill) {
      if (!line.startsWith('{') || killing) return
      const e = JSON.parse(line)
      if (e.type === 'layer-start') sizes.set(e.layer, e.bytes)
      if (e.type === 'layer-done' && !e.skipped && sizes.get(e.layer) >= model.each / 2) done.push(e.digest)
      if (done.length < want) return
      killing = true
      const started = [...sizes.values()].filter((b) => b >= model.each / 2).length
      state.inFlight = started - done.length
      void recorded(cacheDir, [...done]).then(kill)
    },
  }
  return { watch, state }
}

/** Waits (up to 5 s) until the record in `cacheDir` names every digest. */
async function recorded(cacheDir, digests) {
  for (let i = 0; i < 100; i++) {
    const text = await readFile(join(cacheDir, 'layers-v1.jsonl'), 'utf8').catch(() => '')
    if (digests.every((d) => text.includes(`"digest":"${d}"`))) return
    await sleep(50)
  }
  log(`  (the record did not name the finished layers within 5 s: killed anyway)`)
}

/** The four phases, each checked; resolves the measurements and what the checks found. */
async function round(ctx, r) {
  const { model, w } = ctx
  await model.original()
  const checks = {}
  const out = {}
  const show = (phase, m, extra = '') =>
    log(
      `  run ${r + 1} ${LABELS[phase].padEnd(24)} ${m.seconds.toFixed(2).padStart(7)} s  ${m.cpuSeconds.toFixed(1).padStart(5)} s CPU  ${m.rssMB.toFixed(0).padStart(4)} MB  served ${mib(m.served)}${extra}`,
    )
  let reg = await startRegistry(join(w, `registry-${r}`))
  try {
    const recipe = await recipeFor(ctx, 'mirror', reg.host, 'bench/model')
    const cache = join(w, `cache-${r}`)
    out.first = await mirror(ctx, recipe, cache)
    show('first', out.first)
    const firstLayers = await layersByTitle(reg.host, 'bench/model', out.first.digest)
    out.unchanged = await mirror(ctx, recipe, cache)
    show('unchanged', out.unchanged)
    checks.unchanged = {
      served: out.unchanged.served <= TARGETS.unchangedServed,
      seconds: out.unchanged.seconds <= TARGETS.unchangedSeconds,
      sameDigest: out.unchanged.digest === out.first.digest,
    }
    await model.update()
    out.update = await mirror(ctx, recipe, cache)
    show('update', out.update)
    const updatedLayers = await layersByTitle(reg.host, 'bench/model', out.update.digest)
    const kept = model.names.filter((n) => n !== model.changed).every((n) => firstLayers.get(n) === updatedLayers.get(n))
    checks.update = {
      served: out.update.served <= model.each + model.smallBytes + TARGETS.slack,
      otherLayersKept: kept,
      changedLayerNew: firstLayers.get(model.changed) !== updatedLayers.get(model.changed),
    }
  } finally {
    await reg.stop()
  }
  reg = await startRegistry(join(w, `registry-${r}-resume`))
  try {
    const recipe = await recipeFor(ctx, 'resume', reg.host, 'bench/resumed')
    const cache = join(w, `cache-${r}-resume`)
    const want = Math.max(1, Math.floor(model.names.length / 2))
    const { watch, state } = killAfterLayers(model, cache, want)
    out.killed = await mirror(ctx, recipe, cache, watch)
    if (!out.killed.killed) throw new Error(`the run to kill ended on its own before ${want} large layers were done`)
    show('killed', out.killed, `  (${state.done.length} of ${model.names.length} large layers done, ${state.inFlight} in flight)`)
    out.resumed = await mirror(ctx, recipe, cache)
    show('resumed', out.resumed)
    const remaining = (model.names.length - state.done.length) * model.each
    checks.resume = {
      served: out.resumed.served <= remaining + model.smallBytes + TARGETS.slack,
      sameDigest: out.resumed.digest === out.update.digest,
    }
  } finally {
    await reg.stop()
    await rm(join(w, `cache-${r}`), { recursive: true, force: true })
    await rm(join(w, `cache-${r}-resume`), { recursive: true, force: true })
  }
  return { out, checks }
}

function report(o, model, rounds) {
  const med = (phase, key) => median(rounds.map((x) => x.out[phase][key]))
  const rows = Object.fromEntries(
    PHASES.map((p) => [p, Object.fromEntries(['seconds', 'cpuSeconds', 'rssMB', 'served', 'requests'].map((k) => [k, med(p, k)]))]),
  )
  const all = (group) => Object.fromEntries(Object.keys(rounds[0].checks[group]).map((k) => [k, rounds.every((x) => x.checks[group][k])]))
  const pass = { unchanged: all('unchanged'), update: all('update'), resume: all('resume') }
  const verdict = (ok) => (ok ? 'PASS' : 'FAIL')
  log(
    `\n  ${o.files} LFS shards of ${mib(model.each)} (${((model.each * o.files) / 2 ** 30).toFixed(2)} GiB) + 2 small files, Hub emulator → registry; medians of ${o.runs} run(s):`,
  )
  log(`  ${''.padEnd(26)}${'wall'.padStart(9)}${'CPU'.padStart(9)}${'peak RSS'.padStart(10)}  served by the Hub`)
  for (const p of PHASES) {
    const x = rows[p]
    log(
      `  ${LABELS[p].padEnd(26)}${x.seconds.toFixed(2).padStart(7)} s${x.cpuSeconds.toFixed(1).padStart(7)} s${x.rssMB.toFixed(0).padStart(7)} MB  ${mib(x.served)} (${x.requests} requests)`,
    )
  }
  const u = pass.unchanged
  log(
    `\n  unchanged: served ≤ 1 MiB ${verdict(u.served)}, ≤ ${TARGETS.unchangedSeconds} s ${verdict(u.seconds)}, same digest ${verdict(u.sameDigest)}`,
  )
  const up = pass.update
  log(
    `  update: served ≤ the changed files + 1 MiB ${verdict(up.served)}, other layers keep their digests ${verdict(up.otherLayersKept)}, the changed one is new ${verdict(up.changedLayerNew)}`,
  )
  const re = pass.resume
  log(
    `  resume: served ≤ the layers not done at the kill + small files + 1 MiB ${verdict(re.served)}, the digest of a run without a kill ${verdict(re.sameDigest)}`,
  )
  const summary = { bytes: model.each * o.files, files: o.files, runs: o.runs, phases: rows, pass }
  if (o.json) process.stdout.write(`${JSON.stringify(summary)}\n`)
  const ok = Object.values(pass).every((g) => Object.values(g).every(Boolean))
  if (o.strict && !ok) process.exitCode = 1
}

async function main() {
  const o = parseBenchArgs(
    process.argv.slice(2),
    { size: 2 * 1024 ** 3, files: 4, runs: 1, workdir: join(here, 'work', 'incremental') },
    import.meta.url,
    { concurrency: true },
  )
  if (o.files < 2) throw new Error('--files must be at least 2: the resume kills the run half-way through the shards')
  assertBenchReady()
  const w = o.workdir
  await rm(w, { recursive: true, force: true })
  log(`incremental-bench: ${o.files} shards of ${mib(Math.floor(o.size / o.files))} on the Hub emulator; hashing them once first…`)
  const model = await writeModel(join(w, 'hub'), o)
  const hub = await startHubProcess(join(w, 'hub'))
  // No Hub token, no registry credentials, no user cache: the bench's own record in each phase.
  const env = { ...process.env, HF_HOME: join(w, 'no-hf-home'), HF_TOKEN: '', REGISTRY_AUTH_FILE: join(w, 'no-auth.json') }
  delete env.MODELCAR_CACHE_DIR
  const ctx = { w, hub, env, model, cc: o.concurrency ? ['--concurrency', o.concurrency] : [] }
  const rounds = []
  try {
    for (let r = 0; r < o.runs; r++) rounds.push(await round(ctx, r))
  } finally {
    hub.stop()
  }
  report(o, model, rounds)
  await rm(join(w, 'hub'), { recursive: true, force: true })
}

main().catch((err) => {
  process.stderr.write(`incremental-bench: ${err.message}\n`)
  process.exitCode = 1
})
