// The plugin path as a team outside the monorepo meets it: `npm pack` the CLI, every @modelcar
// package it needs and the example plugin; install the tarballs into a fresh project in a temp
// folder (no node_modules above it, no link to this repo); run a recipe that names the plugin by
// its bare name on a busybox base; check the image with skopeo and umoci. Plus the two ways a
// plugin can be wrong from there: missing, and not a component.
import { createHash, randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { lstat, mkdir, readFile, realpath, writeFile } from 'node:fs/promises'
import { dirname, join, sep } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildFixtures, type FixturePaths } from '../../tools/fixtures/build-fixtures.mjs'
import { tempDir, type TempDir } from '../../tools/harness/temp.js'
import { mustRun, run, skopeoInspect, umociUnpack, type RunResult } from '../../tools/harness/tools.js'
import { startStaticServer, type StaticServer } from '../../tools/static-http-server/static-http-server.mjs'
import { assertCliBuilt, REPO_ROOT } from '../e2e/support.js'

const files: Record<string, Buffer> = {
  'tiny/config.json': Buffer.from('{"hidden_size":8}\n'),
  'tiny/model.safetensors': randomBytes(1536 * 1024),
  'tiny/tokenizer/vocab.json': Buffer.from('{"a":0}'),
}
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')

let tmp: TempDir
let project: string
let fixtures: FixturePaths
let server: StaticServer
let tarballs: string[]

/** The environment of a user's shell: no NODE_PATH or npm settings of the test runner's. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', LANG: 'C.UTF-8' }
  if (process.env.npm_config_cache) env.npm_config_cache = process.env.npm_config_cache
  return env
}

async function npx(args: string[], cwd = project): Promise<RunResult> {
  return run('npx', ['--no-install', 'modelcar', ...args], { cwd, env: userEnv(), timeoutMs: 120_000 })
}

/** The workspace packages `@modelcar/cli` needs, from the package.json files: whatever the CLI depends on after later merges. */
async function neededWorkspaces(): Promise<string[]> {
  const dirOf: Record<string, string> = {}
  for (const dir of ['core', 'cli', 'source-hf', 'source-s3', 'sink-registry', 'testing']) {
    const p = join(REPO_ROOT, 'packages', dir)
    if (existsSync(join(p, 'package.json')))
      dirOf[(JSON.parse(await readFile(join(p, 'package.json'), 'utf8')) as { name: string }).name] = p
  }
  const needed = new Set<string>()
  const visit = async (name: string) => {
    if (needed.has(name)) return
    needed.add(name)
    const deps =
      (JSON.parse(await readFile(join(dirOf[name]!, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> }).dependencies ??
      {}
    for (const dep of Object.keys(deps)) if (dirOf[dep]) await visit(dep)
  }
  await visit('@modelcar/cli')
  return [...needed].map((n) => dirOf[n]!)
}

beforeAll(async () => {
  await assertCliBuilt()
  const pluginDir = join(REPO_ROOT, 'examples', 'modelcar-source-http')
  if (!existsSync(join(pluginDir, 'dist', 'index.js'))) throw new Error(`${pluginDir}/dist is missing: build first with \`npm run build\``)
  tmp = await tempDir('mc-pack')
  fixtures = await buildFixtures(join(tmp.path, 'fixtures'))
  server = await startStaticServer({ files })

  const packDir = join(tmp.path, 'tarballs')
  await mkdir(packDir)
  const workspaces = [...(await neededWorkspaces()), pluginDir]
  const packed = await mustRun('npm', ['pack', '--json', '--pack-destination', packDir, ...workspaces.flatMap((w) => ['--workspace', w])], {
    cwd: REPO_ROOT,
    env: userEnv(),
    timeoutMs: 120_000,
  })
  tarballs = (JSON.parse(packed.stdout) as { filename: string }[]).map((p) =>
    join(packDir, p.filename.replace(/^@/, '').replace(/\//, '-')),
  )
  for (const t of tarballs) expect(existsSync(t), `tarball ${t}`).toBe(true)

  // Outside the repo, with nothing above it that Node or npm would look into.
  project = join(tmp.path, 'fresh-project')
  await mkdir(project)
  for (let dir = project; dirname(dir) !== dir; dir = dirname(dir))
    expect(existsSync(join(dir, 'node_modules')), `${dir}/node_modules`).toBe(false)
  expect((await realpath(project)).startsWith(REPO_ROOT + sep)).toBe(false)
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'fresh-project', private: true, version: '1.0.0' }))
  await mustRun('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', ...tarballs], {
    cwd: project,
    env: userEnv(),
    timeoutMs: 280_000,
  })
}, 300_000)

afterAll(async () => {
  await server?.stop()
  await tmp?.cleanup()
})

describe('a fresh project with the packed packages', () => {
  it('holds real copies, one @modelcar/core shared by the CLI and the plugin', async () => {
    for (const name of ['@modelcar/core', '@modelcar/cli', 'modelcar-source-http']) {
      const dir = join(project, 'node_modules', ...name.split('/'))
      expect((await lstat(dir)).isSymbolicLink(), `${name} is a copy, not a link into the repo`).toBe(false)
    }
    expect(existsSync(join(project, 'node_modules', 'modelcar-source-http', 'node_modules', '@modelcar', 'core'))).toBe(false)
    expect(existsSync(join(project, 'node_modules', 'modelcar-source-http', 'src')), 'sources are not packed').toBe(false)
  })

  it('runs a recipe with `type: http` onto busybox: skopeo reads the image, umoci unpacks the files with their bytes', async () => {
    const weights = files['tiny/model.safetensors']!
    await writeFile(
      join(project, 'recipe.yaml'),
      [
        'apiVersion: modelcar/v1',
        `base: oci-layout:${fixtures.single}:latest`,
        'sources:',
        '  - type: http',
        `    listing: ${server.url}/listing.json`,
        '  - type: modelcar-source-http',
        '    files:',
        `      - url: ${server.url}/tiny/model.safetensors`,
        `        sha256: ${sha256(weights)}`,
        '    into: weights',
        'sinks:',
        '  - type: oci-layout',
        '    path: ./out',
        '    tag: v1',
        '',
      ].join('\n'),
    )
    server.files.set(
      '/listing.json',
      Buffer.from(
        JSON.stringify({
          files: [
            { path: 'config.json', url: 'tiny/config.json' },
            { path: 'tokenizer/vocab.json', url: 'tiny/tokenizer/vocab.json' },
          ],
        }),
      ),
    )
    const result = await npx(['run', 'recipe.yaml'])
    expect(result.code, result.stderr).toBe(0)
    const digest = result.stdout.trim().split('\n').at(-1)!
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/)

    const ref = `oci:${join(project, 'out')}:v1`
    const { inspect, raw } = await skopeoInspect(ref)
    const baseLayers = (await skopeoInspect(`oci:${fixtures.single}:latest`)).inspect.Layers.length
    expect(inspect.Layers).toHaveLength(baseLayers + 3)
    expect(raw.layers!.slice(baseLayers).map((l) => l.annotations?.['org.opencontainers.image.title'])).toEqual([
      'config.json',
      'tokenizer/vocab.json',
      'weights/model.safetensors',
    ])

    const rootfs = await umociUnpack(`${join(project, 'out')}:v1`, join(tmp.path, 'bundle'))
    expect(await readFile(join(rootfs, 'models', 'config.json'))).toEqual(files['tiny/config.json'])
    expect(await readFile(join(rootfs, 'models', 'tokenizer', 'vocab.json'))).toEqual(files['tiny/tokenizer/vocab.json'])
    expect(sha256(await readFile(join(rootfs, 'models', 'weights', 'model.safetensors')))).toBe(sha256(weights))
    expect(existsSync(join(rootfs, 'bin', 'busybox')), 'the base image is under the model').toBe(true)
  })

  it('a plugin that is not installed: exit 2, with the npm install to run', async () => {
    await writeFile(
      join(project, 'missing.yaml'),
      'apiVersion: modelcar/v1\nsources:\n  - type: gcs\n    bucket: models\nsinks:\n  - type: oci-layout\n    path: ./out2\n',
    )
    const result = await npx(['validate', 'missing.yaml'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('missing.yaml:3:11: unknown source `gcs`')
    expect(result.stderr).toContain('`npm install modelcar-source-gcs`')
    expect(existsSync(join(project, 'out2'))).toBe(false)
  })

  it('a package whose default export is not a component: exit 2, naming it and what is wrong', async () => {
    const dir = join(project, 'node_modules', 'modelcar-source-broken')
    await mkdir(dir)
    await writeFile(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'modelcar-source-broken', version: '0.0.1', type: 'module', main: 'index.js' }),
    )
    await writeFile(join(dir, 'index.js'), 'export default function broken() {}\n')
    await writeFile(
      join(project, 'broken.yaml'),
      'apiVersion: modelcar/v1\nsources:\n  - type: broken\nsinks:\n  - type: oci-layout\n    path: ./out3\n',
    )
    const result = await npx(['run', 'broken.yaml'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('broken.yaml:3:11: [broken] package `modelcar-source-broken`')
    expect(result.stderr).toContain('is not a modelcar component: its default export is a function, not a component object')
    expect(existsSync(join(project, 'out3'))).toBe(false)
  })
})
