// What goes wrong in a catalogue, through the real CLI against the Hub emulator and docker-registry:
// a gated repo without a token fails only its own model (the others land, the summary names it and
// why, exit 1); a catalogue with mistakes in its template and in two models is refused with every
// problem at its file:line:col, exit 2, before any request; `modelcar schema` gives the catalogue
// schema; wrong `--only`, `--shard` and `--shards` are exit 2 with a hint, nothing moved.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHubEmulator, writeRepo, type HubEmulator } from '../../tools/hub-emulator/hub-emulator.mjs'
import { startRegistry, type Registry } from '../../tools/harness/registry.js'
import { tempDir, type TempDir } from '../../tools/harness/temp.js'
import type { RunResult } from '../../tools/harness/tools.js'
import { assertCliBuilt, modelcar, mustModelcar, NODE_WARNING } from '../e2e/support.js'
import {
  catalogEnv,
  expectPulledModel,
  hubModel,
  positionOf,
  registryRepositories,
  requestsFor,
  servedByRepo,
  summaryOf,
  writeCatalog,
  type HubModel,
} from './support.js'

let tmp: TempDir
let hub: HubEmulator
let registry: Registry
const open: HubModel[] = [hubModel('kilo', 2), hubModel('lima', 2)]
const gated = hubModel('locked', 2)
const env = () => catalogEnv(join(tmp.path, 'home'), hub.url)

beforeAll(async () => {
  await assertCliBuilt()
  tmp = await tempDir('mc-catalog-failures')
  const root = join(tmp.path, 'hub')
  for (const m of open) await writeRepo(root, m.repo, { files: m.files })
  await writeRepo(root, gated.repo, { files: gated.files, gated: 'auto' })
  hub = await startHubEmulator({ root })
  registry = await startRegistry()
})

afterAll(async () => {
  await hub?.stop()
  await registry?.stop()
  await tmp?.cleanup()
})

/** A catalogue of kilo, the gated repo, then lima, into `prefix/{name}` of the test's registry. */
const goodCatalog = (prefix: string) =>
  [
    'apiVersion: modelcar/v1',
    'kind: Catalog',
    'template:',
    '  base: scratch',
    '  sinks:',
    '    - type: registry',
    `      ref: "${registry.host}/${prefix}/{name}:{revision}"`,
    'models:',
    `  - source: { type: hf, repo: ${open[0]!.repo} }`,
    `  - source: { type: hf, repo: ${gated.repo} }`,
    `  - source: { type: hf, repo: ${open[1]!.repo} }`,
    '',
  ].join('\n')

/** What a refused command must show: exit 2, the message and hint on stderr, no Node warning, nothing asked of any server. */
async function expectRefused(args: string[], message: string, hint: string, runEnv = env()): Promise<RunResult> {
  const hubFrom = hub.requests.length
  const logFrom = registry.logs().length
  const result = await modelcar(args, { env: runEnv })
  expect(result.code, `modelcar ${args.join(' ')}:\n${result.stderr}`).toBe(2)
  expect(result.stderr).toContain(`error: ${message}`)
  expect(result.stderr).toContain(`hint: ${hint}`)
  expect(result.stderr).not.toMatch(NODE_WARNING)
  expect(result.stdout).toBe('')
  expect(hub.requests.length - hubFrom, 'requests to the Hub').toBe(0)
  expect(registry.logs().slice(logFrom), 'requests to the registry').not.toMatch(/\/v2\//)
  return result
}

describe('modelcar mirror: one failing model', () => {
  it('a gated repo without a token fails only itself: the others land, the summary names it and why, exit 1', async () => {
    const file = await writeCatalog(join(tmp.path, 'gated'), 'catalog.yaml', goodCatalog('partial'))
    const from = hub.requests.length
    const result = await modelcar(['mirror', file, '--parallel', '2', '--cache-dir', join(tmp.path, 'cache', 'gated')], { env: env() })
    expect(result.code, `${result.stdout}\n--- stderr ---\n${result.stderr}`).toBe(1)
    expect(result.stderr).not.toMatch(NODE_WARNING)

    const summary = summaryOf(result)
    expect(summary.rows.map((r) => [r.model, r.state])).toEqual([
      ['kilo', 'ok'],
      ['locked', 'FAILED'],
      ['lima', 'ok'],
    ])
    const why = summary.rows[1]!.rest
    expect(why).toMatch(/^\[hf\] list failed: model `acme\/locked` is gated: it needs a token with access/)
    expect(summary.total).toBe('2 of 3 models mirrored; failed: locked')
    // The progress lines say it too, where the run happened.
    expect(result.stderr).toContain(`locked: failed: ${why}`)

    // The others are in the registry, byte-exact; the gated one is not, and none of its bytes moved.
    expect(await registryRepositories(registry)).toEqual(['partial/kilo', 'partial/lima'])
    for (const m of open) await expectPulledModel(registry, `partial/${m.name}`, 'main', m, join(tmp.path, 'pulled', m.name))
    const served = servedByRepo(hub, from)
    expect(served).toEqual(Object.fromEntries(open.map((m) => [m.repo, m.bytes])))
    expect(
      requestsFor(hub, from, gated.repo).filter((p) => !p.startsWith('hub /api/')),
      'file requests for the gated repo',
    ).toEqual([])
    console.info(`gated model in a catalogue of 3: exit ${result.code}; the Hub served ${JSON.stringify(served)}; reason: ${why}`)
  })
})

describe('modelcar mirror: mistakes refused before anything moves', () => {
  it('a catalogue with mistakes in its template and in two models: every problem at its file:line:col, exit 2, nothing written', async () => {
    const text = [
      'apiVersion: modelcar/v1',
      'kind: Catalog',
      'template:',
      '  base: scratch',
      '  image:',
      '    compression: lz4',
      '  sinks:',
      '    - type: registry',
      `      ref: "${registry.host}/bad/{name}:{revision}"`,
      '      insecur: true',
      'models:',
      `  - source: { type: hf, repo: ${open[0]!.repo} }`,
      `  - source: { type: hf, repo: ${open[1]!.repo}, revison: main }`,
      `  - source: { type: hf, repo: ${gated.repo} }`,
      '    sinks:',
      '      - type: registry',
      `        ref: "${registry.host}/bad/{nmae}:{revision}"`,
      '',
    ].join('\n')
    const dir = join(tmp.path, 'mistakes')
    const file = await writeCatalog(dir, 'catalog.yaml', text)
    const cache = join(tmp.path, 'cache', 'mistakes')
    const hubFrom = hub.requests.length
    const logFrom = registry.logs().length
    const result = await modelcar(['mirror', file, '--cache-dir', cache], { env: env() })
    expect(result.code, result.stderr).toBe(2)
    expect(result.stdout).toBe('')

    const at = (needle: string) => {
      const p = positionOf(text, needle)
      return `${file}:${p.line}:${p.col}: `
    }
    const expected = [
      `${at('lz4')}template.image.compression: \`lz4\` is not one of \`none\`, \`gzip\`, \`zstd\``,
      `${at('insecur:')}model \`kilo\`: [registry] unknown field \`insecur\` in sinks[0] (did you mean \`insecure\`?)`,
      `${at('revison')}model \`lima\`: [hf] unknown field \`revison\` in sources[0] (did you mean \`revision\`?)`,
      `${at(`"${registry.host}/bad/{nmae}`)}model \`locked\`: unknown placeholder \`{nmae}\``,
    ]
    const problems = result.stderr.split('\n').filter((l) => l.startsWith(`  ${file}:`))
    expect(
      problems.map((l) => l.trim()),
      result.stderr,
    ).toEqual(expected)
    expect(result.stderr).toContain('hint: placeholders: `{name}`, `{repo}`, `{revision}`, `{tag}`, `{commit}`')

    expect(hub.requests.length - hubFrom, 'requests to the Hub').toBe(0)
    expect(registry.logs().slice(logFrom), 'requests to the registry').not.toMatch(/\/v2\//)
    expect(existsSync(cache), 'the cache folder').toBe(false)
    expect(await registryRepositories(registry)).not.toContainEqual(expect.stringMatching(/^bad\//))
  })

  it('modelcar schema --catalog and modelcar schema CATALOG give the catalogue schema; without either, the recipe schema', async () => {
    const file = await writeCatalog(join(tmp.path, 'schema'), 'catalog.yaml', goodCatalog('schema'))
    const asked = JSON.parse((await mustModelcar(['schema', '--catalog'], { env: env() })).stdout) as JsonSchema
    const fromFile = JSON.parse((await mustModelcar(['schema', file], { env: env() })).stdout) as JsonSchema
    const recipe = JSON.parse((await mustModelcar(['schema'], { env: env() })).stdout) as JsonSchema
    for (const schema of [asked, fromFile]) {
      expect(schema.required).toEqual(expect.arrayContaining(['apiVersion', 'kind', 'models']))
      expect(schema.properties.kind).toMatchObject({ const: 'Catalog' })
      expect(Object.keys(schema.properties).sort()).toEqual(['apiVersion', 'kind', 'models', 'template'])
      const model = schema.properties.models!.items!
      expect(Object.keys(model.properties!)).toEqual(expect.arrayContaining(['name', 'source', 'tags', 'sinks']))
      expect(schema.properties.template!.properties).not.toHaveProperty('sources')
    }
    expect(fromFile).toEqual(asked)
    expect(recipe.properties).not.toHaveProperty('kind')
    expect(recipe.properties).toHaveProperty('sources')
  })

  it('an unknown --only, a bad --shard and --shards without JOB_COMPLETION_INDEX are exit 2 with a hint', async () => {
    const file = await writeCatalog(join(tmp.path, 'arguments'), 'catalog.yaml', goodCatalog('arguments'))
    const cache = ['--cache-dir', join(tmp.path, 'cache', 'arguments')]
    await expectRefused(
      ['mirror', file, '--only', 'kilp', ...cache],
      'the catalogue has no model `kilp`',
      'its models: `kilo`, `locked`, `lima`',
    )
    for (const shard of ['3/3', '1/0', 'x']) {
      await expectRefused(
        ['mirror', file, '--shard', shard, ...cache],
        `--shard \`${shard}\` is not I/N with 0 ≤ I < N`,
        'e.g. `--shard 0/3`',
      )
    }
    await expectRefused(
      ['mirror', file, '--shards', '3', ...cache],
      '--shards 3 needs the shard to run: JOB_COMPLETION_INDEX is not set',
      'in a Kubernetes Indexed Job it is set for each pod; elsewhere give `--shard I/N`',
    )
    await expectRefused(
      ['mirror', file, '--shards', '3', ...cache],
      '--shards 3 needs the shard to run: JOB_COMPLETION_INDEX is `3`',
      'in a Kubernetes Indexed Job it is set for each pod; elsewhere give `--shard I/N`',
      catalogEnv(join(tmp.path, 'home'), hub.url, { JOB_COMPLETION_INDEX: '3' }),
    )
    expect(existsSync(join(tmp.path, 'cache', 'arguments')), 'the cache folder').toBe(false)
  })
})

interface JsonSchema {
  required?: string[]
  properties: Record<string, JsonSchema & { const?: unknown; items?: JsonSchema }>
  items?: JsonSchema
}
