// Plugins through the real CLI: packages written into a recipe's node_modules (importing the
// monorepo's built @modelcar/core, as an installed plugin imports its peer), found by bare name, by
// package name and scoped name, from a parent folder; installed from a folder and with `npm link`
// (where the plugin's real folder has no core, or a second copy of its own); broken ones named with
// what is wrong; their schemas in `validate` and `schema RECIPE`; their throws named with type and
// phase, their own errors with code, hint, diagnostics and HTTP facts; a base plugin in its short form.
import { existsSync } from 'node:fs'
import { lstat, mkdir, readFile, realpath, symlink, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir, type TempDir } from '../../tools/harness/temp.js'
import { mustRun } from '../../tools/harness/tools.js'
import { assertCliBuilt, modelcar, mustModelcar, printedDigest, REPO_ROOT } from '../e2e/support.js'

let tmp: TempDir
let project: string

/** A plugin package: package.json and index.js (ESM) under `root`/node_modules/`name`. */
async function plugin(root: string, name: string, indexJs: string, pkg: Record<string, unknown> = {}): Promise<void> {
  const dir = join(root, 'node_modules', ...name.split('/'))
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name, version: '1.2.3', type: 'module', exports: './index.js', ...pkg }))
  await writeFile(join(dir, 'index.js'), indexJs)
}

/** A source plugin giving one file `name` with `text`; `failIn` makes that hook throw a plain Error. */
const sourceJs = (type: string, opts: { failIn?: string } = {}) => `
import { defineSource, Type } from '@modelcar/core'
const fail = (hook) => { if (${JSON.stringify(opts.failIn ?? '')} === hook) throw new Error(hook + ' broke in ${type}') }
export default defineSource({
  type: '${type}',
  description: 'Test plugin ${type}.',
  schema: Type.Object({ text: Type.String({ description: 'The file content.' }), name: Type.Optional(Type.String({ description: 'File name.', default: 'hello.txt' })) }, { additionalProperties: false }),
  create(config) {
    fail('create')
    return {
      async *list() {
        fail('list')
        const bytes = new TextEncoder().encode(config.text)
        yield { path: config.name, size: bytes.length, async open(o = {}) { fail('open'); return (async function* () { fail('read'); yield bytes.subarray(o.start ?? 0) })() } }
      },
    }
  },
})
`

/** A plugin's own error: a code of its own, a hint, a diagnostic and what the server answered. */
const quotaJs = `
import { defineSource, ModelcarError, Type } from '@modelcar/core'
export default defineSource({
  type: 'quota',
  description: 'Test plugin quota.',
  schema: Type.Object({}),
  create() {
    return {
      async *list() {
        throw new ModelcarError('ACME_QUOTA', 'the bucket is over its quota', {
          hint: 'ask the store admin for more room',
          diagnostics: [{ message: 'bucket \`models\`: 0 bytes left' }],
          http: { method: 'GET', url: 'https://store.example/models', status: 507, requestId: 'req-42' },
        })
      },
    }
  },
})
`

/** A base plugin: `base: tiny` (or `tiny:linux/arm64`) makes an image from nothing, as scratch does. */
const tinyBaseJs = `
import { defineBase, scratchBase, Type } from '@modelcar/core'
export default defineBase({
  type: 'tiny',
  description: 'Test base tiny.',
  shortForm: 'tiny[:PLATFORM]',
  schema: Type.Object({ platform: Type.Optional(Type.String({ description: 'The one platform.', examples: ['linux/arm64'] })) }, { additionalProperties: false }),
  fromText: (text) => (text ? { platform: text } : {}),
  create: (config) => ({ load: async () => scratchBase([config.platform ?? 'linux/amd64']) }),
})
`

/** Titles of the layers of the image a recipe in `dir` wrote to ./out. */
async function layerTitles(dir: string): Promise<string[]> {
  const index = JSON.parse(await readFile(join(dir, 'out', 'index.json'), 'utf8')) as { manifests: { digest: string }[] }
  const manifest = JSON.parse(await readFile(join(dir, 'out', 'blobs', 'sha256', index.manifests[0]!.digest.slice(7)), 'utf8')) as {
    layers: { annotations: Record<string, string> }[]
  }
  return manifest.layers.map((l) => l.annotations['org.opencontainers.image.title']!)
}

/** A plugin as its author has it: a folder of its own, `@modelcar/core` a peer dependency. */
async function pluginFolder(dir: string, name: string, indexJs: string): Promise<void> {
  await mkdir(dir, { recursive: true })
  await writeFile(
    join(dir, 'package.json'),
    JSON.stringify({ name, version: '0.3.0', type: 'module', exports: './index.js', peerDependencies: { '@modelcar/core': '^0.1.0' } }),
  )
  await writeFile(join(dir, 'index.js'), indexJs)
}

/** npm as a user runs it, with its global folder (`npm link`) under `root`; offline: nothing here needs the registry. */
function npm(args: string[], cwd: string, root: string) {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LANG: 'C.UTF-8',
    npm_config_prefix: join(root, 'global'),
  }
  if (process.env.npm_config_cache) env.npm_config_cache = process.env.npm_config_cache
  // The peer (@modelcar/core) is not published where these tests run: npm leaves it to the CLI, as
  // it does whenever a peer is not installed in the plugin's real folder.
  const flags = ['--no-audit', '--no-fund', '--ignore-scripts', '--offline', '--legacy-peer-deps']
  return mustRun('npm', [...args, ...flags], { cwd, env, timeoutMs: 120_000 })
}

/** A project that uses plugins: package.json, and nothing installed yet. */
async function app(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }))
  return dir
}

async function recipe(dir: string, sources: string, name = 'recipe.yaml'): Promise<string> {
  await mkdir(dir, { recursive: true })
  const file = join(dir, name)
  await writeFile(file, `apiVersion: modelcar/v1\nsources:\n${sources}sinks:\n  - type: oci-layout\n    path: ./out\n`)
  return file
}

beforeAll(async () => {
  await assertCliBuilt()
  tmp = await tempDir('mc-plugins')
  project = join(tmp.path, 'project')
  await mkdir(join(project, 'node_modules', '@modelcar'), { recursive: true })
  // The peer dependency a real install puts beside the plugin.
  await symlink(join(REPO_ROOT, 'packages', 'core'), join(project, 'node_modules', '@modelcar', 'core'))
  await plugin(project, 'modelcar-source-greeting', sourceJs('greeting'))
  await plugin(project, '@acme/modelcar-source-gcs', sourceJs('gcs'))
  for (const hook of ['create', 'list', 'open', 'read'])
    await plugin(project, `modelcar-source-fail-${hook}`, sourceJs(`fail-${hook}`, { failIn: hook }))
  await plugin(project, 'modelcar-source-nodefault', 'export const source = {}\n')
  await plugin(project, 'modelcar-source-shapeless', "export default { type: 'shapeless', create() {} }\n")
  await plugin(project, 'modelcar-source-unbuilt', '', { exports: { '.': { import: './dist/index.js' } } })
  await plugin(project, 'modelcar-source-throws', "throw new Error('cannot start: missing dependency left-pad')\n")
  await plugin(project, 'modelcar-sink-onlysource', sourceJs('onlysource'))
  await plugin(project, 'modelcar-source-quota', quotaJs)
  await plugin(project, 'modelcar-base-tiny', tinyBaseJs)
})
afterAll(async () => {
  await tmp?.cleanup()
})

describe('plugin resolution', () => {
  it('a bare name, the package name and a scoped package all resolve from the recipe folder; the image has their files', async () => {
    const file = await recipe(
      project,
      '  - type: greeting\n    text: hi\n  - type: modelcar-source-greeting\n    text: again\n    name: again.txt\n  - type: "@acme/modelcar-source-gcs"\n    text: gcs\n    name: gcs.txt\n',
    )
    printedDigest(await mustModelcar(['run', file]))
    const index = JSON.parse(await readFile(join(project, 'out', 'index.json'), 'utf8')) as { manifests: { digest: string }[] }
    const manifest = JSON.parse(await readFile(join(project, 'out', 'blobs', 'sha256', index.manifests[0]!.digest.slice(7)), 'utf8')) as {
      layers: { annotations: Record<string, string> }[]
    }
    expect(manifest.layers.map((l) => l.annotations['org.opencontainers.image.title'])).toEqual(['again.txt', 'gcs.txt', 'hello.txt'])
  })

  it('resolves from a parent folder’s node_modules, as Node does', async () => {
    const file = await recipe(join(project, 'recipes', 'deep'), '  - type: greeting\n    text: hi\n')
    expect((await mustModelcar(['validate', file])).stdout).toContain('valid (1 files in 1 layers)')
  })

  it('a missing plugin: exit 2 at its line, with the exact npm install and where to run it', async () => {
    const file = await recipe(join(tmp.path, 'empty'), '  - type: gcs2\n    bucket: x\n')
    const result = await modelcar(['run', file])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(`${file}:3:11: unknown source \`gcs2\``)
    expect(result.stderr).toContain(`a plugin is installed with \`npm install modelcar-source-gcs2\` (run it in \`${dirname(file)}\``)
  })

  it('an unknown type beside installed plugins: the hint lists them', async () => {
    const file = await recipe(join(project, 'typo'), '  - type: greting\n    text: hi\n')
    const result = await modelcar(['validate', file])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(`${file}:3:11: unknown source \`greting\``)
    expect(result.stderr).toMatch(/installed plugins: [^\n]*`greeting`/)
    expect(result.stderr).toMatch(/installed plugins: [^\n]*`@acme\/modelcar-source-gcs`/)
    const schema = await modelcar(['schema', file])
    expect(schema.code).toBe(2)
    expect(schema.stderr).toContain('error: unknown source `greting`')
    expect(schema.stderr).toMatch(
      /hint: a plugin is installed with `npm install modelcar-source-greting`.*installed source plugins: [^\n]*`greeting`/,
    )
  })

  it('a type that is no package name reaches no folder', async () => {
    const file = await recipe(join(project, 'sub'), '  - type: ../node_modules/modelcar-source-greeting\n    text: x\n', 'traversal.yaml')
    const result = await modelcar(['validate', file])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('unknown source `../node_modules/modelcar-source-greeting`')
  })

  it.each([
    ['nodefault', 'has no default export', 'export default defineSource('],
    ['shapeless', 'is not a modelcar component: its default export has no `kind`', 'export default defineSource('],
    ['unbuilt', 'names `./dist/index.js` as its entry point, but that file does not exist', 'was the package built before it was packed?'],
    ['throws', 'failed to load: cannot start: missing dependency left-pad', undefined],
  ])('a package that is no valid component (%s): exit 2 naming the package and what is wrong', async (name, message, hint) => {
    const file = await recipe(project, `  - type: ${name}\n`, `${name}.yaml`)
    const result = await modelcar(['validate', file])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(`${file}:3:11: [${name}] package \`modelcar-source-${name}\``)
    expect(result.stderr).toContain(message)
    if (hint) expect(result.stderr).toContain(hint)
  })

  it('a package of the wrong kind says what it has', async () => {
    await writeFile(
      join(project, 'sink.yaml'),
      'apiVersion: modelcar/v1\nsources:\n  - type: greeting\n    text: x\nsinks:\n  - type: onlysource\n',
    )
    const result = await modelcar(['validate', join(project, 'sink.yaml')])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('package `modelcar-sink-onlysource`')
    expect(result.stderr).toContain('exports no sink (it has: source `onlysource`)')
  })

  it('the plugin’s schema checks the recipe like a built-in’s, naming the package', async () => {
    const file = await recipe(project, '  - type: greeting\n    txt: hi\n', 'bad-config.yaml')
    const result = await modelcar(['validate', file])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(`${file}:4:5: [greeting] unknown field \`txt\` in sources[0] (did you mean \`text\`?)`)
    expect(result.stderr).toContain('hint: allowed: text, name (the schema of package `modelcar-source-greeting` 1.2.3)')
    const missing = await modelcar(['validate', await recipe(project, '  - type: greeting\n', 'no-text.yaml')])
    expect(missing.stderr).toContain('[greeting] sources[0] is missing the required field `text`')
  })

  it.each(['create', 'list', 'open', 'read'])('a plain Error thrown in %s: exit 1, `[type] %s failed`, nothing written', async (hook) => {
    const dir = join(tmp.path, `fail-${hook}`)
    await mkdir(join(dir, 'node_modules'), { recursive: true })
    await symlink(join(project, 'node_modules', `modelcar-source-fail-${hook}`), join(dir, 'node_modules', `modelcar-source-fail-${hook}`))
    await mkdir(join(dir, 'node_modules', '@modelcar'), { recursive: true })
    await symlink(join(REPO_ROOT, 'packages', 'core'), join(dir, 'node_modules', '@modelcar', 'core'))
    const file = await recipe(dir, `  - type: fail-${hook}\n    text: x\n`)
    const result = await modelcar(['run', file])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`error: [fail-${hook}] ${hook} failed: ${hook} broke in fail-${hook}`)
    await expect(readFile(join(dir, 'out', 'index.json'))).rejects.toThrow()
  })

  it('a plugin’s own error keeps its code, hint, diagnostics and HTTP facts, named with type and phase', async () => {
    const dir = join(tmp.path, 'quota')
    await mkdir(join(dir, 'node_modules', '@modelcar'), { recursive: true })
    await symlink(join(project, 'node_modules', 'modelcar-source-quota'), join(dir, 'node_modules', 'modelcar-source-quota'))
    await symlink(join(REPO_ROOT, 'packages', 'core'), join(dir, 'node_modules', '@modelcar', 'core'))
    const file = await recipe(dir, '  - type: quota\n')
    const text = await modelcar(['run', file])
    expect(text.code).toBe(1)
    expect(text.stderr).toBe(
      [
        'error: [quota] list failed: the bucket is over its quota',
        '  bucket `models`: 0 bytes left',
        '  hint: ask the store admin for more room',
        '  http: [GET] https://store.example/models: status 507, request id req-42',
        '',
      ].join('\n'),
    )
    const json = await modelcar(['run', file, '--json'])
    expect(json.code).toBe(1)
    expect(json.stderr).toBe('')
    const events = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(events.at(-1)).toEqual({
      type: 'error',
      code: 'ACME_QUOTA',
      message: '[quota] list failed: the bucket is over its quota',
      hint: 'ask the store admin for more room',
      component: 'quota',
      phase: 'list',
      diagnostics: [{ message: 'bucket `models`: 0 bytes left' }],
      http: { method: 'GET', url: 'https://store.example/models', status: 507, requestId: 'req-42' },
    })
    await expect(readFile(join(dir, 'out', 'index.json'))).rejects.toThrow()
  })

  it('installed from a folder (`npm install ../plugin`): its real folder has no core, the recipe runs with the CLI’s', async () => {
    const root = join(tmp.path, 'from-folder')
    await pluginFolder(join(root, 'plugin'), 'modelcar-source-folder', sourceJs('folder'))
    const dir = await app(join(root, 'app'))
    await npm(['install', '../plugin'], dir, root)
    const installed = join(dir, 'node_modules', 'modelcar-source-folder')
    expect((await lstat(installed)).isSymbolicLink(), 'npm links a folder it installs').toBe(true)
    expect(await realpath(installed)).toBe(await realpath(join(root, 'plugin')))
    // Nothing on the plugin's real path holds a core: without the CLI's, its import would fail.
    for (let d = join(root, 'plugin'); dirname(d) !== d; d = dirname(d))
      expect(existsSync(join(d, 'node_modules', '@modelcar', 'core')), `${d}/node_modules/@modelcar/core`).toBe(false)
    const file = await recipe(dir, '  - type: folder\n    text: from a folder\n    name: folder.txt\n')
    printedDigest(await mustModelcar(['run', file]))
    expect(await layerTitles(dir)).toEqual(['folder.txt'])
  })

  it('linked with `npm link`: the plugin’s own second copy of core is not loaded, the CLI’s is', async () => {
    const root = join(tmp.path, 'linked')
    const pluginDir = join(root, 'plugin')
    await pluginFolder(pluginDir, 'modelcar-source-linked', sourceJs('linked'))
    // The author's own install: a second @modelcar/core, which must not be the one that runs.
    const own = join(pluginDir, 'node_modules', '@modelcar', 'core')
    await mkdir(own, { recursive: true })
    await writeFile(
      join(own, 'package.json'),
      JSON.stringify({ name: '@modelcar/core', version: '0.1.0', type: 'module', exports: './index.js' }),
    )
    await writeFile(join(own, 'index.js'), "throw new Error('the plugin’s own copy of @modelcar/core was loaded')\n")
    await npm(['link'], pluginDir, root)
    const dir = await app(join(root, 'app'))
    await npm(['link', 'modelcar-source-linked'], dir, root)
    expect(await realpath(join(dir, 'node_modules', 'modelcar-source-linked'))).toBe(await realpath(pluginDir))
    const file = await recipe(dir, '  - type: linked\n    text: linked\n    name: linked.txt\n')
    expect((await mustModelcar(['validate', file])).stdout).toContain('valid (1 files in 1 layers)')
    printedDigest(await mustModelcar(['run', file]))
    expect(await layerTitles(dir)).toEqual(['linked.txt'])
  })

  it('a base from a plugin: its short form runs, and schema and docs include it', async () => {
    const dir = join(project, 'tiny-base')
    await mkdir(dir, { recursive: true })
    const file = join(dir, 'recipe.yaml')
    await writeFile(
      file,
      'apiVersion: modelcar/v1\nbase: tiny:linux/arm64\nsources:\n  - type: greeting\n    text: hi\nsinks:\n  - type: oci-layout\n    path: ./out\n',
    )
    expect((await mustModelcar(['run', file, '--dry-run'])).stdout).toContain('base: tiny:linux/arm64\n')
    printedDigest(await mustModelcar(['run', file]))
    // One platform: index.json names the manifest itself; its config says the architecture.
    const json = async <T>(...parts: string[]) => JSON.parse(await readFile(join(dir, 'out', ...parts), 'utf8')) as T
    const blob = <T>(digest: string) => json<T>('blobs', 'sha256', digest.slice(7))
    const index = await json<{ manifests: { digest: string }[] }>('index.json')
    const manifest = await blob<{ config: { digest: string } }>(index.manifests[0]!.digest)
    expect((await blob<{ architecture: string }>(manifest.config.digest)).architecture).toBe('arm64')
    const schema = JSON.parse((await mustModelcar(['schema', file])).stdout) as {
      properties: { base: { anyOf: [unknown, { oneOf: { title: string }[] }] } }
    }
    expect(schema.properties.base.anyOf[1].oneOf.map((v) => v.title)).toEqual(expect.arrayContaining(['base `tiny`', 'base `registry`']))
    const out = join(tmp.path, 'base-docs')
    await mustModelcar(['docs', out, '--plugin', 'modelcar-base-tiny'], { cwd: project })
    const page = await readFile(join(out, 'base-tiny.md'), 'utf8')
    expect(page).toContain('Short form: `base: tiny[:PLATFORM]`')
    expect(page).toContain("A plugin: `npm install modelcar-base-tiny` in the recipe's folder, then `base: tiny:…`.")
  })

  it('schema RECIPE includes the plugins the recipe names, under the name it uses', async () => {
    const file = await recipe(
      project,
      '  - type: greeting\n    text: hi\n  - type: "@acme/modelcar-source-gcs"\n    text: x\n',
      'schema.yaml',
    )
    const schema = JSON.parse((await mustModelcar(['schema', file])).stdout) as {
      properties: { sources: { items: { oneOf: { title: string; properties: Record<string, unknown> }[] } } }
    }
    const variants = schema.properties.sources.items.oneOf
    expect(variants.map((v) => v.title)).toEqual(
      expect.arrayContaining(['source `greeting`', 'source `@acme/modelcar-source-gcs`', 'source `local`']),
    )
    expect(Object.keys(variants.find((v) => v.title === 'source `greeting`')!.properties)).toEqual(['type', 'text', 'name'])
    const missing = await modelcar(['schema', await recipe(join(tmp.path, 'empty2'), '  - type: nope\n')])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('npm install modelcar-source-nope')
  })

  it('docs writes a reference page for a plugin package, and --check fails when a page drifts', async () => {
    const out = join(tmp.path, 'plugin-docs')
    expect((await mustModelcar(['docs', out, '--plugin', 'modelcar-source-greeting'], { cwd: project })).stdout).toContain('wrote')
    const page = await readFile(join(out, 'greeting.md'), 'utf8')
    expect(page).toContain('# source `greeting`')
    expect(page).toContain('| `text` | string | yes |  | The file content. |')
    expect(page).toContain('`npm install modelcar-source-greeting`')
    expect((await modelcar(['docs', out, '--plugin', 'modelcar-source-greeting', '--check'], { cwd: project })).code).toBe(0)
    await writeFile(join(out, 'greeting.md'), `${page}\nhand edit\n`)
    const stale = await modelcar(['docs', out, '--plugin', 'modelcar-source-greeting', '--check'], { cwd: project })
    expect(stale.code).toBe(1)
    expect(stale.stderr).toContain('differs from the schemas: greeting.md')
  })
})
