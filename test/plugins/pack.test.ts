// The packages as a team outside the monorepo meets them: `npm pack` every package (core, the CLI,
// the official plugins, the registry client, the kit) and both example plugins, and check what each
// tarball holds: a README and a LICENSE, every file its `exports` (and `bin`) name, sources that its
// maps point at, no test file and no build info. Then install the CLI, the plugins and the example
// plugins into a fresh project in a temp folder (no node_modules above it, no link to this repo),
// and run the quickstart, a recipe naming the `http` source by its bare name on a busybox base, and
// one with the `checksums` transform, whose SHA256SUMS must match `sha256sum` of the files umoci
// unpacks. Plus the two ways a plugin can be wrong from there: missing, and not a component.
import { createHash, randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { cp, lstat, mkdir, readdir, readFile, realpath, writeFile } from 'node:fs/promises'
import { dirname, join, posix, relative, sep } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildFixtures, type FixturePaths } from '../../tools/fixtures/build-fixtures.mjs'
import { tempDir, type TempDir } from '../../tools/harness/temp.js'
import { mustRun, run, skopeoInspect, umociUnpack, type RunResult } from '../../tools/harness/tools.js'
import { startStaticServer, type StaticServer } from '../../tools/static-http-server/static-http-server.mjs'
import { assertCliBuilt, REPO_ROOT } from '../e2e/support.js'
import { freshLockfile, type Lockfile, type PackedPackage } from './fresh-lockfile.js'

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

/** The environment of a user's shell: no NODE_PATH or npm settings of the test runner's. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', LANG: 'C.UTF-8' }
  if (process.env.npm_config_cache) env.npm_config_cache = process.env.npm_config_cache
  return env
}

async function npx(args: string[], cwd = project): Promise<RunResult> {
  return run('npx', ['--no-install', 'modelcar', ...args], { cwd, env: userEnv(), timeoutMs: 120_000 })
}

/** Every package that is published, by folder; `packages/registry` once it exists. */
const PUBLISHED = ['core', 'cli', 'source-hf', 'source-s3', 'source-oci', 'sink-registry', 'registry', 'testing'].map((d) =>
  join('packages', d),
)
const EXAMPLES = ['modelcar-source-http', 'modelcar-transform-checksums'].map((d) => join('examples', d))

interface Packed {
  name: string
  tarball: string
  /** Where the tarball was unpacked: its `package/` folder. */
  dir: string
}
let packed: Packed[]

/** The packages to pack: the published ones, whatever else the CLI depends on after later merges, the examples. */
async function packageDirs(): Promise<string[]> {
  const dirOf: Record<string, string> = {}
  for (const rel of [...PUBLISHED, ...EXAMPLES]) {
    const p = join(REPO_ROOT, rel)
    if (existsSync(join(p, 'package.json')))
      dirOf[(JSON.parse(await readFile(join(p, 'package.json'), 'utf8')) as { name: string }).name] = p
  }
  for (const rel of EXAMPLES) {
    if (!existsSync(join(REPO_ROOT, rel, 'dist', 'index.js'))) throw new Error(`${rel}/dist is missing: build first with \`npm run build\``)
  }
  const dependencies = async (dir: string) =>
    Object.keys(
      (JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> }).dependencies ?? {},
    )
  for (const dep of await dependencies(dirOf['@modelcar/cli']!))
    expect(dep.startsWith('@modelcar/') ? dirOf[dep] : 'not ours', `the CLI depends on ${dep}, which is not in PUBLISHED`).toBeDefined()
  return Object.values(dirOf)
}

/** Every file under `dir`, relative to it, with `/` separators. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = []
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(d, e.name))
      else out.push(relative(dir, join(d, e.name)).split(sep).join('/'))
    }
  }
  await walk(dir)
  return out.sort()
}

/** The files a package.json names: every string of `exports` (any condition, any depth), `main`, `types`, `bin`. */
function namedFiles(pkg: { exports?: unknown; main?: string; types?: string; bin?: string | Record<string, string> }): string[] {
  const out: string[] = []
  const visit = (v: unknown) => {
    if (typeof v === 'string') out.push(v)
    else if (v && typeof v === 'object') for (const x of Object.values(v)) visit(x)
  }
  visit(pkg.exports)
  visit(pkg.bin)
  for (const f of [pkg.main, pkg.types]) if (f) out.push(f)
  return out.map((f) => posix.normalize(f))
}

/** What is wrong with one unpacked tarball: missing README, LICENSE or named files, test files, build info, maps into nothing. */
async function packageProblems(p: Packed): Promise<string[]> {
  const files = await filesUnder(p.dir)
  const has = new Set(files)
  const problems: string[] = []
  for (const f of ['README.md', 'LICENSE']) if (!has.has(f)) problems.push(`${p.name}: no ${f}`)
  const pkg = JSON.parse(await readFile(join(p.dir, 'package.json'), 'utf8')) as Parameters<typeof namedFiles>[0]
  for (const f of namedFiles(pkg)) if (!has.has(f)) problems.push(`${p.name}: package.json names \`${f}\`, which is not in the tarball`)
  for (const f of files) {
    if (/\.test\.|(^|\/)__tests__\//.test(f)) problems.push(`${p.name}: ships the test file \`${f}\``)
    if (f.endsWith('.tsbuildinfo')) problems.push(`${p.name}: ships the build info \`${f}\``)
    if (!f.endsWith('.map')) continue
    const map = JSON.parse(await readFile(join(p.dir, f), 'utf8')) as { sources?: string[]; sourceRoot?: string }
    for (const source of map.sources ?? []) {
      const target = posix.normalize(posix.join(posix.dirname(f), map.sourceRoot ?? '', source))
      if (!has.has(target))
        problems.push(`${p.name}: \`${f}\` points at \`${target}\`, which is not in the tarball (stale build output? build from clean)`)
    }
  }
  return problems
}

beforeAll(async () => {
  await assertCliBuilt()
  const dirs = await packageDirs()
  tmp = await tempDir('mc-pack')
  fixtures = await buildFixtures(join(tmp.path, 'fixtures'))
  server = await startStaticServer({ files })

  const packDir = join(tmp.path, 'tarballs')
  await mkdir(packDir)
  // --ignore-scripts: the other e2e files run the built CLI from these very dist/ folders at the
  // same time, and prepack would delete and rebuild them under their feet. What is packed is the
  // build the suite tests; the checks below refuse a tarball with stale build output.
  const result = await mustRun(
    'npm',
    ['pack', '--json', '--ignore-scripts', '--pack-destination', packDir, ...dirs.flatMap((w) => ['--workspace', w])],
    {
      cwd: REPO_ROOT,
      env: userEnv(),
      timeoutMs: 120_000,
    },
  )
  packed = []
  for (const p of JSON.parse(result.stdout) as { name: string; filename: string }[]) {
    const tarball = join(packDir, p.filename.replace(/^@/, '').replace(/\//, '-'))
    expect(existsSync(tarball), `tarball ${tarball}`).toBe(true)
    const into = join(tmp.path, 'unpacked', p.name.replace(/\//, '+'))
    await mkdir(into, { recursive: true })
    await mustRun('tar', ['-xzf', tarball, '-C', into])
    packed.push({ name: p.name, tarball, dir: join(into, 'package') })
  }

  // Outside the repo, with nothing above it that Node or npm would look into.
  project = join(tmp.path, 'fresh-project')
  await mkdir(project)
  for (let dir = project; dirname(dir) !== dir; dir = dirname(dir))
    expect(existsSync(join(dir, 'node_modules')), `${dir}/node_modules`).toBe(false)
  expect((await realpath(project)).startsWith(REPO_ROOT + sep)).toBe(false)
  // Installed as a user's `npm ci` would, from a lockfile that pins every third-party package at
  // the version the repository tested (see fresh-lockfile.ts): no registry round trips.
  const repoLock = JSON.parse(await readFile(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as Lockfile
  const workspaces = new Map(
    Object.entries(repoLock.packages).flatMap(([at, e]) =>
      typeof e.name === 'string' && !at.includes('node_modules') ? [[e.name, at]] : [],
    ),
  )
  const installed = await Promise.all(
    packed
      .filter((p) => p.name !== '@modelcar/testing')
      .map(async (p) => ({
        name: p.name,
        workspace: workspaces.get(p.name) ?? '',
        manifest: JSON.parse(await readFile(join(p.dir, 'package.json'), 'utf8')) as PackedPackage['manifest'],
        spec: `file:${relative(project, p.tarball)}`,
      })),
  )
  const lock = freshLockfile(repoLock, 'fresh-project', installed)
  await writeFile(join(project, 'package-lock.json'), JSON.stringify(lock, null, 2))
  await writeFile(
    join(project, 'package.json'),
    JSON.stringify({ name: 'fresh-project', private: true, version: '1.0.0', dependencies: lock.packages['']!.dependencies }),
  )
  await mustRun('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], {
    cwd: project,
    env: userEnv(),
    timeoutMs: 280_000,
  })
}, 300_000)

afterAll(async () => {
  await server?.stop()
  await tmp?.cleanup()
})

describe('the tarballs', () => {
  it('are every published package and both examples', () => {
    expect(packed.map((p) => p.name).sort()).toEqual(
      expect.arrayContaining([
        '@modelcar/core',
        '@modelcar/cli',
        '@modelcar/testing',
        'modelcar-source-http',
        'modelcar-transform-checksums',
      ]),
    )
    if (existsSync(join(REPO_ROOT, 'packages', 'registry'))) expect(packed.map((p) => p.name)).toContain('@modelcar/registry')
  })

  it('each hold a README, a LICENSE, every file their exports name and the sources their maps point at; no test file, no build info', async () => {
    const problems = (await Promise.all(packed.map(packageProblems))).flat()
    expect(problems).toEqual([])
    // Sources ship beside dist, for the `source` condition and the declaration maps; their tests do not.
    const core = packed.find((p) => p.name === '@modelcar/core')!
    expect(existsSync(join(core.dir, 'src', 'index.ts'))).toBe(true)
    expect(existsSync(join(core.dir, 'dist', 'index.d.ts.map'))).toBe(true)
  })

  it('the check catches what it is for', async () => {
    const fake = join(tmp.path, 'fake', 'package')
    await mkdir(join(fake, 'dist'), { recursive: true })
    await writeFile(
      join(fake, 'package.json'),
      JSON.stringify({
        name: 'fake',
        exports: { '.': { source: './src/index.ts', default: './dist/index.js' } },
        bin: { fake: './bin/fake.js' },
      }),
    )
    await writeFile(join(fake, 'dist', 'index.js'), '')
    await writeFile(join(fake, 'dist', 'index.js.map'), JSON.stringify({ sources: ['../src/index.ts'] }))
    await writeFile(join(fake, 'dist', 'index.test.js'), '')
    await writeFile(join(fake, 'dist', '.tsbuildinfo'), '')
    expect(await packageProblems({ name: 'fake', tarball: '', dir: fake })).toEqual([
      'fake: no README.md',
      'fake: no LICENSE',
      'fake: package.json names `src/index.ts`, which is not in the tarball',
      'fake: package.json names `bin/fake.js`, which is not in the tarball',
      'fake: ships the build info `dist/.tsbuildinfo`',
      'fake: `dist/index.js.map` points at `src/index.ts`, which is not in the tarball (stale build output? build from clean)',
      'fake: ships the test file `dist/index.test.js`',
    ])
  })
})

describe('a fresh project with the packed packages', () => {
  it('holds real copies, one @modelcar/core shared by the CLI and the plugins', async () => {
    for (const name of ['@modelcar/core', '@modelcar/cli', 'modelcar-source-http', 'modelcar-transform-checksums']) {
      const dir = join(project, 'node_modules', ...name.split('/'))
      expect((await lstat(dir)).isSymbolicLink(), `${name} is a copy, not a link into the repo`).toBe(false)
    }
    for (const plugin of ['modelcar-source-http', 'modelcar-transform-checksums'])
      expect(
        existsSync(join(project, 'node_modules', plugin, 'node_modules', '@modelcar', 'core')),
        `${plugin} has a core of its own`,
      ).toBe(false)
  })

  it('runs the quickstart: two platforms, each with the model files and their bytes', async () => {
    const dir = join(project, 'quickstart')
    await cp(join(REPO_ROOT, 'examples', 'quickstart'), dir, { recursive: true, filter: (src) => !/\/out$/.test(src) })
    const result = await npx(['run', 'recipe.yaml'], dir)
    expect(result.code, result.stderr).toBe(0)
    const { raw } = await skopeoInspect(`oci:${join(dir, 'out')}:latest`)
    expect(raw.manifests?.map((m) => m.platform?.architecture)).toEqual(['amd64', 'arm64'])
    const inspect = await npx(['inspect', 'out'], dir)
    expect(inspect.code, inspect.stderr).toBe(0)
    expect(inspect.stdout).toContain('(model card)')
    // umoci unpacks one image, not an index: each platform is copied out on its own first.
    for (const arch of ['amd64', 'arm64']) {
      const single = join(tmp.path, `quickstart-${arch}`)
      await mustRun('skopeo', [
        '--insecure-policy',
        'copy',
        '--override-arch',
        arch,
        `oci:${join(dir, 'out')}:latest`,
        `oci:${single}:latest`,
      ])
      const rootfs = await umociUnpack(`${single}:latest`, join(tmp.path, `bundle-quickstart-${arch}`))
      for (const f of ['config.json', 'model.safetensors', 'README.md'])
        expect(await readFile(join(rootfs, 'models', f)), `${arch}: /models/${f}`).toEqual(await readFile(join(dir, 'model', f)))
    }
  })

  it('runs a recipe with `type: checksums`: its SHA256SUMS is what sha256sum says of the unpacked files', async () => {
    const model: Record<string, Buffer> = {
      'config.json': Buffer.from('{"hidden_size":8}\n'),
      'model.safetensors': randomBytes(700 * 1024),
      'tokenizer/vocab.json': Buffer.from('{"a":0}'),
      'tokenizer/merges with space.txt': Buffer.from('a b\n'),
    }
    for (const [path, bytes] of Object.entries(model)) {
      await mkdir(join(project, 'summed', dirname(path)), { recursive: true })
      await writeFile(join(project, 'summed', path), bytes)
    }
    await writeFile(
      join(project, 'checksums.yaml'),
      [
        'apiVersion: modelcar/v1',
        `base: oci-layout:${fixtures.single}:latest`,
        'sources:',
        '  - type: local',
        '    path: ./summed',
        'transforms:',
        '  - type: checksums',
        'sinks:',
        '  - type: oci-layout',
        '    path: ./out-sums',
        '    tag: v1',
        '',
      ].join('\n'),
    )
    const result = await npx(['run', 'checksums.yaml'])
    expect(result.code, result.stderr).toBe(0)
    const { raw } = await skopeoInspect(`oci:${join(project, 'out-sums')}:v1`)
    expect(raw.layers!.at(-1)!.annotations?.['org.opencontainers.image.title']).toBe('SHA256SUMS')

    const rootfs = await umociUnpack(`${join(project, 'out-sums')}:v1`, join(tmp.path, 'bundle-sums'))
    const models = join(rootfs, 'models')
    const sums = await readFile(join(models, 'SHA256SUMS'), 'utf8')
    const paths = Object.keys(model).sort()
    // sha256sum itself, over the files as umoci unpacked them, writes the very same lines.
    expect(sums).toBe((await mustRun('sha256sum', ['--', ...paths], { cwd: models })).stdout)
    const check = await mustRun('sha256sum', ['-c', 'SHA256SUMS'], { cwd: models })
    expect(check.stdout.trim().split('\n')).toEqual(paths.map((p) => `${p}: OK`))
    for (const [path, bytes] of Object.entries(model)) expect(sums).toContain(`${sha256(bytes)}  ${path}\n`)
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
