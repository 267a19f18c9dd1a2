#!/usr/bin/env node
// Benchmark: pushing a modelcar image layout to a local registry (Debian's docker-registry on
// loopback), against `skopeo copy --preserve-digests` of the same layout in the same run; pushing
// it again unchanged; and mirroring the same files from the Hub emulator straight into the
// registry, against the larger of the two floors measured in the same run: the Hub's (the same
// work with standard tools: curl, two sha256, tee, sync) and the push's (skopeo).
//
//   npm run bench:registry -- [--size 4GiB] [--files 8] [--runs 1] [--concurrency N] [--strict] [--json]
//
// The model files are sparse (zeros): content does not change the cost of streaming, hashing and
// uploading. Every push goes to a fresh registry (empty storage), so neither side finds blobs the
// other uploaded. Targets: push ≤ 1.0 × skopeo, push again ≤ 2 s, mirror ≤ 1.15 × max(Hub floor,
// skopeo) in wall and in CPU, peak RSS ≤ 150 MB.
// modelcar runs with --no-cache: no run finds layers in a local record (re-runs: incremental-bench.mjs).
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  assertBenchReady,
  CLI,
  measure,
  median,
  parseBenchArgs,
  sameWorkDownload,
  shardNames,
  startHubProcess,
  startRegistry,
} from './bench-support.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const TARGETS = { vsSkopeo: 1.0, againSeconds: 2, mirrorVsMax: 1.15, rssMB: 150 }

/** The pushed image (the layout plus a base annotation) has exactly the layout's layers. */
async function expectSameLayers(w, layoutDigest, host) {
  const layout = JSON.parse(await readFile(join(w, 'layout', 'blobs', 'sha256', layoutDigest.slice(7)), 'utf8'))
  const res = await fetch(`http://${host}/v2/bench/model/manifests/v1`, {
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
  })
  const pushed = await res.json()
  const a = layout.layers.map((l) => l.digest).join()
  const b = (pushed.layers ?? []).map((l) => l.digest).join()
  if (a !== b) throw new Error(`the pushed image's layers differ from the layout's`)
}

const lastLine = (s) => s.trim().split('\n').at(-1)

async function main() {
  const o = parseBenchArgs(process.argv.slice(2), { runs: 1, workdir: join(here, 'work', 'registry') }, import.meta.url, {
    concurrency: true,
  })
  assertBenchReady()
  const log = (s) => process.stderr.write(`${s}\n`)
  const cc = o.concurrency ? ['--concurrency', o.concurrency] : []
  const w = o.workdir
  await rm(w, { recursive: true, force: true })
  await mkdir(join(w, 'model'), { recursive: true })
  await mkdir(join(w, 'card'), { recursive: true })
  const each = Math.floor(o.size / o.files)
  const names = shardNames(o.files)
  const card = '---\nlicense: apache-2.0\n---\n# bench\n'
  for (const n of names) {
    const f = await open(join(w, 'model', n), 'w')
    await f.truncate(each)
    await f.close()
  }
  await writeFile(join(w, 'model', 'README.md'), card)
  await writeFile(join(w, 'card', 'README.md'), card)
  const env = { ...process.env, HF_HOME: join(w, 'no-hf-home'), HF_TOKEN: '', REGISTRY_AUTH_FILE: join(w, 'no-auth.json') }

  log(`registry-bench: ${o.files} files of ${(each / 2 ** 20).toFixed(0)} MiB (sparse); building the layout…`)
  await writeFile(
    join(w, 'build.yaml'),
    `apiVersion: modelcar/v1\nsources:\n  - type: local\n    path: ./model\nsinks:\n  - type: oci-layout\n    path: ./layout\n`,
  )
  const built = await measure(process.execPath, [CLI, 'run', '--no-cache', 'build.yaml'], { cwd: w, env })
  const layoutDigest = lastLine(built.stdout)
  log(`  layout built in ${built.seconds.toFixed(1)} s: ${layoutDigest}`)

  // Pushing the layout with modelcar: the layout is the base, the one source is its model card
  // (already in it, so the image is the layout's own); the weights travel as base blobs.
  const pushRecipe = (host, repo) =>
    `apiVersion: modelcar/v1\nbase: oci-layout:./layout:latest\nsources:\n  - type: local\n    path: ./card\nsinks:\n  - type: registry\n    ref: ${host}/${repo}:v1\n`
  const { writeRepo } = await import('../hub-emulator/hub-emulator.mjs')
  const hubRoot = join(w, 'hub')
  const sha = await writeRepo(hubRoot, 'bench/model', {
    files: { ...Object.fromEntries(names.map((n) => [n, { sparseSize: each }])), 'README.md': card },
  })
  const hub = await startHubProcess(hubRoot)
  const urls = [...names, 'README.md'].map((p) => `/bench/model/resolve/${sha}/${p}`)
  const results = { skopeo: [], push: [], again: [], download: [], mirror: [] }
  try {
    const floorOut = join(w, 'floor')
    const floor = async () => {
      await rm(floorOut, { recursive: true, force: true })
      return sameWorkDownload(
        urls.map((u) => `${hub.url}${u}`),
        floorOut,
      ).finally(() => rm(floorOut, { recursive: true, force: true }))
    }
    await floor() // warm-up
    for (let r = 0; r < o.runs; r++) {
      const order = r % 2 === 0 ? ['skopeo', 'push', 'download', 'mirror'] : ['mirror', 'download', 'push', 'skopeo']
      for (const who of order) {
        const reg = who === 'download' ? undefined : await startRegistry(join(w, `registry-${who}`))
        try {
          let m
          if (who === 'skopeo') {
            m = await measure(
              'skopeo',
              [
                '--insecure-policy',
                'copy',
                '--preserve-digests',
                '--dest-tls-verify=false',
                '--dest-no-creds',
                `oci:${join(w, 'layout')}:latest`,
                `docker://${reg.host}/fresh/model:v1`,
              ],
              { env },
            )
          } else if (who === 'push') {
            await writeFile(join(w, 'push.yaml'), pushRecipe(reg.host, 'bench/model'))
            m = await measure(process.execPath, [CLI, 'run', '--no-cache', 'push.yaml', ...cc], { cwd: w, env })
            await expectSameLayers(w, layoutDigest, reg.host)
            const again = await measure(process.execPath, [CLI, 'run', '--no-cache', 'push.yaml', ...cc], { cwd: w, env })
            results.again.push(again)
            log(
              `  run ${r + 1} ${'again'.padEnd(8)} ${again.seconds.toFixed(2)} s  ${again.rssMB.toFixed(0)} MB  ${again.cpuSeconds.toFixed(1)} s CPU`,
            )
          } else if (who === 'download') {
            m = await floor()
          } else {
            await writeFile(
              join(w, 'mirror.yaml'),
              `apiVersion: modelcar/v1\nsources:\n  - type: hf\n    repo: bench/model\n    endpoint: ${hub.url}\nsinks:\n  - type: registry\n    ref: ${reg.host}/mirror/model:v1\n`,
            )
            m = await measure(process.execPath, [CLI, 'run', '--no-cache', 'mirror.yaml', ...cc], { cwd: w, env })
          }
          results[who].push(m)
          log(`  run ${r + 1} ${who.padEnd(8)} ${m.seconds.toFixed(2)} s  ${m.rssMB.toFixed(0)} MB  ${m.cpuSeconds.toFixed(1)} s CPU`)
        } finally {
          await reg?.stop()
        }
      }
    }
  } finally {
    hub.stop()
  }
  const s = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, median(v.map((m) => m.seconds))]))
  const cpu = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, median(v.map((m) => m.cpuSeconds))]))
  const rss = Math.max(...[...results.push, ...results.mirror].map((m) => m.rssMB))
  const floor = Math.max(s.download, s.skopeo)
  const cpuFloor = Math.max(cpu.download, cpu.skopeo)
  const summary = {
    bytes: each * o.files,
    seconds: s,
    pushVsSkopeo: s.push / s.skopeo,
    againSeconds: s.again,
    mirrorVsMax: s.mirror / floor,
    mirrorCpuVsMax: cpu.mirror / cpuFloor,
    cpuSeconds: cpu,
    peakRssMB: rss,
    pass: {
      push: s.push / s.skopeo <= TARGETS.vsSkopeo,
      again: s.again <= TARGETS.againSeconds,
      mirror: s.mirror / floor <= TARGETS.mirrorVsMax,
      mirrorCpu: cpu.mirror / cpuFloor <= TARGETS.mirrorVsMax,
      rss: rss <= TARGETS.rssMB,
    },
  }
  const gib = (each * o.files) / 2 ** 30
  log(`\n  ${gib.toFixed(2)} GiB, medians of ${o.runs} run(s):`)
  log(`  skopeo copy --preserve-digests   ${s.skopeo.toFixed(2)} s`)
  log(
    `  modelcar push (layout → registry) ${s.push.toFixed(2)} s  = ${summary.pushVsSkopeo.toFixed(2)} × skopeo (target ≤ ${TARGETS.vsSkopeo}): ${summary.pass.push ? 'PASS' : 'FAIL'}`,
  )
  log(
    `  modelcar push again, unchanged   ${s.again.toFixed(2)} s (target ≤ ${TARGETS.againSeconds} s): ${summary.pass.again ? 'PASS' : 'FAIL'}`,
  )
  log(
    `  Hub floor (curl, 2 × sha256, tee, sync) ${s.download.toFixed(2)} s, CPU ${cpu.download.toFixed(2)} s; skopeo CPU ${cpu.skopeo.toFixed(2)} s`,
  )
  log(
    `  modelcar hf → registry mirror    ${s.mirror.toFixed(2)} s  = ${summary.mirrorVsMax.toFixed(2)} × max(Hub floor, skopeo) (target ≤ ${TARGETS.mirrorVsMax}): ${summary.pass.mirror ? 'PASS' : 'FAIL'}`,
  )
  log(
    `                                   CPU ${cpu.mirror.toFixed(2)} s = ${summary.mirrorCpuVsMax.toFixed(2)} × max (target ≤ ${TARGETS.mirrorVsMax}): ${summary.pass.mirrorCpu ? 'PASS' : 'FAIL'}`,
  )
  log(`  peak RSS of modelcar             ${rss.toFixed(0)} MB (target ≤ ${TARGETS.rssMB}): ${summary.pass.rss ? 'PASS' : 'FAIL'}`)
  if (o.json) process.stdout.write(`${JSON.stringify(summary)}\n`)
  if (o.strict && !Object.values(summary.pass).every(Boolean)) process.exitCode = 1
  await rm(join(w, 'layout'), { recursive: true, force: true })
}

main().catch((err) => {
  process.stderr.write(`registry-bench: ${err.message}\n`)
  process.exitCode = 1
})
