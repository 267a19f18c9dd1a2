// Sinks `skopeo` and `oras`: the image is written to an OCI layout and handed to the tool. skopeo
// runs for real against a real registry; oras has no Debian package, so a strict stand-in that
// accepts only oras' documented flags (fake-oras.mjs) does the copy with skopeo.
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildFixtures, type FixturePaths } from '../../tools/fixtures/build-fixtures.mjs'
import { startRegistry, type Registry } from '../../tools/harness/registry.js'
import { tempDir, type TempDir } from '../../tools/harness/temp.js'
import { podmanRun, skopeoInspect } from '../../tools/harness/tools.js'
import { assertCliBuilt, cliEnv, modelcar, mustModelcar, printedDigest, sha256, tagged, readIndex } from '../e2e/support.js'

const SLOW = 120_000
let work: TempDir
let fixtures: FixturePaths
let registry: Registry
let authRegistry: Registry
let modelDir: string
let fakeBin: string
const WEIGHTS = Buffer.alloc(3 << 20, 7)

beforeAll(async () => {
  await assertCliBuilt()
  work = await tempDir('shell-sinks')
  fixtures = await buildFixtures(join(work.path, 'fixtures'))
  registry = await startRegistry()
  authRegistry = await startRegistry({ htpasswd: { user: 'pusher', password: 'pw-never-printed-6251' } })
  modelDir = join(work.path, 'model')
  await mkdir(modelDir)
  await writeFile(join(modelDir, 'model.safetensors'), WEIGHTS)
  await writeFile(join(modelDir, 'README.md'), '# shell sinks\n')
  // `oras` on PATH is the stand-in: a node script run by this very node.
  fakeBin = join(work.path, 'bin')
  await mkdir(fakeBin)
  await writeFile(join(fakeBin, 'oras'), `#!/bin/sh\nexec '${process.execPath}' '${join(import.meta.dirname, 'fake-oras.mjs')}' "$@"\n`)
  await chmod(join(fakeBin, 'oras'), 0o755)
}, SLOW)

afterAll(async () => {
  await registry?.stop()
  await authRegistry?.stop()
  await work?.cleanup()
})

/** A recipe folder with a busybox-based Modelcar going to `sink` (YAML lines). */
async function recipe(name: string, sink: string[]): Promise<string> {
  const dir = join(work.path, name)
  await mkdir(dir)
  await writeFile(
    join(dir, 'recipe.yaml'),
    [
      'apiVersion: modelcar/v1',
      `base: ${JSON.stringify(`oci-layout:${fixtures.multiarch}:latest`)}`,
      'sources:',
      '  - type: local',
      `    path: ${JSON.stringify(modelDir)}`,
      'transforms:',
      '  - type: modelcard',
      '    file: README.md',
      'sinks:',
      ...sink.map((l) => `  ${l}`),
      '',
    ].join('\n'),
  )
  return dir
}

/** A TMPDIR of its own, so a test sees whether the temporary layout was removed. */
async function freshTmp(name: string): Promise<string> {
  const dir = join(work.path, `tmp-${name}`)
  await mkdir(dir)
  return dir
}

describe('sink `skopeo`', () => {
  it(
    'pushes the image with the digest modelcar computed, runs under podman, and removes its temporary layout',
    async () => {
      const ref = `${registry.host}/shell/skopeo:v1`
      const dir = await recipe('skopeo', ['- type: skopeo', `  ref: ${ref}`])
      const tmp = await freshTmp('skopeo')
      const result = await mustModelcar(['run', 'recipe.yaml'], { cwd: dir, env: cliEnv({ TMPDIR: tmp }) })
      const digest = printedDigest(result)

      const { rawText, raw } = await skopeoInspect(`docker://${ref}`)
      expect(sha256(rawText)).toBe(digest)
      expect(raw.manifests?.length, 'platform manifests in the pushed index').toBeGreaterThanOrEqual(2)
      const listing = await podmanRun(ref, 'ls -la /models && sha256sum /models/model.safetensors')
      expect(listing).toContain('README.md')
      expect(listing).toContain(sha256(WEIGHTS).slice('sha256:'.length))
      expect(await readdir(tmp), 'left in TMPDIR').toEqual([])
    },
    SLOW,
  )

  it(
    'keeps the layout where `layout` says, and a second run gives the same digest',
    async () => {
      const ref = `${registry.host}/shell/kept:v1`
      const dir = await recipe('skopeo-kept', ['- type: skopeo', `  ref: docker://${ref}`, '  layout: ./kept'])
      const first = printedDigest(await mustModelcar(['run', 'recipe.yaml'], { cwd: dir }))
      expect(tagged(await readIndex(join(dir, 'kept'))).digest).toBe(first)
      const second = printedDigest(await mustModelcar(['run', 'recipe.yaml'], { cwd: dir }))
      expect(second).toBe(first)
      expect(sha256((await skopeoInspect(`docker://${ref}`)).rawText)).toBe(first)
    },
    SLOW,
  )

  it(
    'a refused push fails the run with skopeo’s reason and a hint, and leaves nothing behind',
    async () => {
      const ref = `${authRegistry.host}/shell/denied:v1`
      const dir = await recipe('skopeo-denied', ['- type: skopeo', `  ref: ${ref}`, '  retryTimes: 0'])
      const tmp = await freshTmp('skopeo-denied')
      const result = await modelcar(['run', 'recipe.yaml'], { cwd: dir, env: cliEnv({ TMPDIR: tmp }) })
      expect(result.code, result.stderr).toBe(1)
      expect(result.stderr).toContain('[skopeo]')
      expect(result.stderr).toMatch(/skopeo copy --preserve-digests .* exited with 1/)
      expect(result.stderr).toMatch(/authentication required|unauthorized/i)
      expect(result.stderr).toContain(`skopeo login ${authRegistry.host}`)
      expect(result.stderr + result.stdout).not.toContain('pw-never-printed-6251')
      expect(await readdir(tmp), 'left in TMPDIR').toEqual([])
    },
    SLOW,
  )

  it(
    'without skopeo on PATH, `validate` and `run` say so and how to install it, before any byte moves',
    async () => {
      const dir = await recipe('skopeo-missing', ['- type: skopeo', `  ref: ${registry.host}/shell/missing:v1`])
      const tmp = await freshTmp('skopeo-missing')
      const env = cliEnv({ PATH: join(work.path, 'empty-path'), TMPDIR: tmp })
      for (const command of ['validate', 'run']) {
        const result = await modelcar([command, 'recipe.yaml'], { cwd: dir, env })
        expect(result.code, `${command}: ${result.stderr}`).toBe(1)
        expect(result.stderr).toContain('`skopeo` is not installed')
        expect(result.stderr).toContain('apt-get install skopeo')
      }
      expect(await readdir(tmp)).toEqual([])
    },
    SLOW,
  )
})

describe('sink `oras`', () => {
  it(
    'runs `oras cp --from-oci-layout` with documented flags only (plain HTTP for a loopback registry), every tag gets the image',
    async () => {
      const repo = `${registry.host}/shell/oras`
      const dir = await recipe('oras', ['- type: oras', `  ref: ${repo}:v1,latest`])
      const log = join(work.path, 'oras.log')
      const tmp = await freshTmp('oras')
      const result = await mustModelcar(['run', 'recipe.yaml'], {
        cwd: dir,
        env: cliEnv({ PATH: `${fakeBin}:${process.env.PATH}`, FAKE_ORAS_LOG: log, TMPDIR: tmp }),
      })
      const digest = printedDigest(result)

      const calls = (await readFile(log, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as string[])
      expect(calls[0]).toEqual(['version'])
      const cp = calls.find((c) => c[0] === 'cp')!
      expect(cp.slice(0, -2)).toEqual(['cp', '--from-oci-layout', '--concurrency', '3', '--to-plain-http'])
      expect(cp.at(-2)).toMatch(new RegExp(`^${tmp}/modelcar-layout-[^/]+:latest$`))
      expect(cp.at(-1)).toBe(`${repo}:v1,latest`)
      for (const tag of ['v1', 'latest']) expect(sha256((await skopeoInspect(`docker://${repo}:${tag}`)).rawText), tag).toBe(digest)
      expect(await readdir(tmp)).toEqual([])
    },
    SLOW,
  )

  it(
    'without oras on PATH the error says where to get it',
    async () => {
      const dir = await recipe('oras-missing', ['- type: oras', `  ref: ${registry.host}/shell/none:v1`])
      const result = await modelcar(['validate', 'recipe.yaml'], { cwd: dir, env: cliEnv({ PATH: join(work.path, 'empty-path') }) })
      expect(result.code, result.stderr).toBe(1)
      expect(result.stderr).toContain('`oras` is not installed')
      expect(result.stderr).toContain('oras.land/docs/installation')
    },
    SLOW,
  )

  it(
    'a ref without a registry host is a recipe error with its location (exit 2)',
    async () => {
      const dir = await recipe('oras-bad-ref', ['- type: oras', '  ref: "just-a-name"'])
      const result = await modelcar(['validate', 'recipe.yaml'], { cwd: dir })
      expect(result.code, result.stderr).toBe(2)
      expect(result.stderr).toMatch(/recipe\.yaml:\d+:\d+/)
      expect(result.stderr).toContain('just-a-name')
    },
    SLOW,
  )
})
