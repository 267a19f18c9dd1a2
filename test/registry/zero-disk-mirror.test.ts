// The user's main flow: a Hugging Face repo mirrored into a registry, on a base image from the
// same registry, with no model byte on local disk. The CLI runs with its working folder, HOME and
// TMPDIR on an 8 MiB tmpfs (a spilled layer cannot fit), its own block writes are read from
// /proc/<pid>/io while it runs, and its peak RSS from /proc/<pid>/status.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildFixtures, type FixturePaths } from '../../tools/fixtures/build-fixtures.mjs'
import { startHubEmulator, writeRepo, type HubEmulator } from '../../tools/hub-emulator/hub-emulator.mjs'
import { startRegistry, type Registry } from '../../tools/harness/registry.js'
import { tempDir, type TempDir } from '../../tools/harness/temp.js'
import { mustRun, podmanRun, run, skopeoCopyToRegistry, skopeoInspect } from '../../tools/harness/tools.js'
import { assertCliBuilt, CLI_BIN, cliEnv, sha256 } from '../e2e/support.js'

const SLOW = 300_000
const MiB = 1 << 20
const WEIGHTS = 512 * MiB

let tmp: TempDir
let fixtures: FixturePaths
let hub: HubEmulator
let registry: Registry
let small: string
const mounted: string[] = []
const card = Buffer.from('---\nlicense: apache-2.0\n---\n# zero-disk\n')
const shard = randomBytes(3 * MiB)

beforeAll(async () => {
  await assertCliBuilt()
  tmp = await tempDir('mc-zero')
  fixtures = await buildFixtures(join(tmp.path, 'fixtures'))
  await writeRepo(join(tmp.path, 'hub'), 'acme/big-llm', {
    files: {
      'config.json': '{"model_type":"llama"}\n',
      'README.md': card,
      'model-00001.safetensors': { sparseSize: WEIGHTS },
      'model-00002.safetensors': shard,
    },
  })
  hub = await startHubEmulator({ root: join(tmp.path, 'hub') })
  registry = await startRegistry()
  await skopeoCopyToRegistry(`${fixtures.multiarch}:latest`, `${registry.host}/base/busybox:1`)
  small = join(tmp.path, 'small')
  await mkdir(small)
  // Root only: the test machines run as root (see reference/test-environment.md).
  await mustRun('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', small])
  mounted.push(small)
}, SLOW)

afterAll(async () => {
  for (const m of mounted) await run('umount', ['-l', m])
  await hub?.stop()
  await registry?.stop()
  await tmp?.cleanup()
})

interface Watched {
  code: number | null
  stdout: string
  stderr: string
  writeBytes: number
  peakRssBytes: number
}

/** Runs the CLI and samples its /proc entries until it exits (the last sample is taken at most 50 ms before). */
function watchCli(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Watched> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_BIN, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    let writeBytes = 0
    let peakRssBytes = 0
    const sample = async () => {
      const io = await readFile(`/proc/${child.pid}/io`, 'utf8').catch(() => '')
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8').catch(() => '')
      const w = /^write_bytes:\s+(\d+)/m.exec(io)
      const hwm = /^VmHWM:\s+(\d+) kB/m.exec(status)
      if (w) writeBytes = Math.max(writeBytes, Number(w[1]))
      if (hwm) peakRssBytes = Math.max(peakRssBytes, Number(hwm[1]) * 1024)
    }
    const timer = setInterval(() => void sample(), 50)
    child.on('error', reject)
    child.on('exit', (code) => {
      clearInterval(timer)
      resolve({ code, stdout, stderr, writeBytes, peakRssBytes })
    })
  })
}

describe('zero-disk mirror', () => {
  it('hf → registry on a registry base: no model byte on local disk, memory bounded, base layers mounted, image runs; a re-run uploads nothing', async () => {
    const ref = `${registry.host}/mirror/big-llm:v1`
    const recipe = join(small, 'recipe.yaml')
    await writeFile(
      recipe,
      `apiVersion: modelcar/v1\nbase: registry:${registry.host}/base/busybox:1\nsources:\n  - type: hf\n    repo: acme/big-llm\n    endpoint: ${hub.url}\nsinks:\n  - type: registry\n    ref: ${ref}\n`,
    )
    await mkdir(join(small, 'home'))
    await mkdir(join(small, 'tmp'))
    const env = cliEnv({
      HOME: join(small, 'home'),
      TMPDIR: join(small, 'tmp'),
      HF_HOME: join(small, 'home', 'hf'),
      REGISTRY_AUTH_FILE: join(small, 'none.json'),
    })
    delete env.HF_TOKEN
    const logStart = registry.logs().length
    const result = await watchCli(['run', 'recipe.yaml'], small, env)
    expect(result.code, result.stderr).toBe(0)
    const digest = result.stdout.trim().split('\n').at(-1)!
    expect(digest).toMatch(/^sha256:[a-f0-9]{64}$/)

    console.info(
      `zero-disk mirror of ${(WEIGHTS + shard.length) / MiB} MiB: CLI block writes ${result.writeBytes} B, peak RSS ${(result.peakRssBytes / MiB).toFixed(0)} MiB`,
    )
    // Nothing of the model reached a disk: the CLI's block writes stay far below one shard, and
    // the tmpfs it worked in holds only what the test put there.
    expect(result.writeBytes).toBeLessThan(1 * MiB)
    expect((await readdir(join(small, 'tmp'))).length).toBe(0)
    expect((await stat(join(small, 'recipe.yaml'))).size).toBeLessThan(1024)
    // Bounded memory for a 512 MiB layer.
    expect(result.peakRssBytes).toBeGreaterThan(0)
    expect(result.peakRssBytes).toBeLessThan(200 * MiB)

    // Base layers were mounted from base/busybox, not uploaded again.
    const logs = registry.logs().slice(logStart)
    expect(logs).toMatch(/mount=sha256%3A[a-f0-9]{64}&from=base%2Fbusybox|mount=sha256:[a-f0-9]{64}&from=base\/busybox/)

    const { rawText } = await skopeoInspect(`docker://${ref}`)
    expect(sha256(rawText)).toBe(digest)
    const out = await podmanRun(
      ref,
      'ls -la /models && sha256sum /models/model-00002.safetensors && wc -c < /models/model-00001.safetensors',
    )
    expect(out).toContain('README.md')
    expect(out).toContain(sha256(shard).slice('sha256:'.length))
    expect(out).toContain(String(WEIGHTS))

    // Mirroring again uploads nothing: every layer is found in the registry once encoded.
    const again = registry.logs().length
    const second = await watchCli(['run', 'recipe.yaml'], small, env)
    expect(second.code, second.stderr).toBe(0)
    expect(second.stdout.trim().split('\n').at(-1)).toBe(digest)
    expect(
      registry
        .logs()
        .slice(again)
        .split('\n')
        .filter((l) => /"(PATCH|PUT|POST) \/v2\//.test(l)),
    ).toEqual([])
  })
})
