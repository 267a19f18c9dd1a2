import { Type } from '@sinclair/typebox'
import { describe, expect, it } from 'vitest'
import { createCoreRegistry } from '../builtins.js'
import { defineSource } from '../contract/component.js'
import { isModelcarError, type Diagnostic } from '../errors/index.js'
import { isCatalogText, parseCatalog } from './load-catalog.js'

/** A stand-in for the Hub source: the catalogue only needs its schema. */
const hub = defineSource({
  type: 'hub',
  description: 'test',
  schema: Type.Object(
    { repo: Type.String({ description: 'repo' }), revision: Type.Optional(Type.String({ description: 'revision' })) },
    { additionalProperties: false },
  ),
  create: () => ({ list: async function* () {} }),
})
const registry = () => createCoreRegistry().register(hub)

const CATALOG = `apiVersion: modelcar/v1
kind: Catalog
template:
  sinks:
    - type: oci-layout
      path: ./out/{repo}
      tag: "{tag}"
models:
  - source: { type: hub, repo: ibm-granite/Granite-3.1-2B }
  - source: { type: hub, repo: acme/tiny, revision: v2 }
    tags: [v2, latest]
  - name: local-one
    source: { type: local, path: ./m }
    sinks:
      - type: oci-layout
        path: ./local/{name}
        tag: "{commit}"
`

async function problems(text: string): Promise<(Diagnostic & { at: string })[]> {
  try {
    await parseCatalog(text, 'c.yaml', { registry: registry() })
  } catch (err) {
    if (!isModelcarError(err) || err.code !== 'RECIPE_INVALID') throw err
    return err.diagnostics.map((d) => ({ ...d, at: d.location ? `${d.location.line}:${d.location.col}` : '-' }))
  }
  throw new Error('the catalogue was accepted')
}

describe('catalogues', () => {
  it('makes each model’s recipe from the template, its source and overrides, placeholders filled', async () => {
    expect(isCatalogText(CATALOG)).toBe(true)
    const catalog = await parseCatalog(CATALOG, '/tmp/c.yaml', { registry: registry() })
    expect(catalog.models.map((m) => [m.name, m.label, m.usesCommit])).toEqual([
      ['granite-3.1-2b', 'hub ibm-granite/granite-3.1-2b@main', false],
      ['tiny', 'hub acme/tiny@v2', false],
      ['local-one', 'local m@latest', true],
    ])
    const granite = await catalog.models[0]!.recipe()
    expect(granite.sinks.map((s) => s.config)).toEqual([{ path: './out/ibm-granite/granite-3.1-2b', tag: 'main' }])
    const tiny = await catalog.models[1]!.recipe()
    expect(tiny.sinks.map((s) => s.config.tag)).toEqual(['v2', 'latest'])
    const local = await catalog.models[2]!.recipe({ commit: 'abc123' })
    expect(local.sinks.map((s) => s.config)).toEqual([{ path: './local/local-one', tag: 'abc123' }])
    expect(local.sources[0]!.type).toBe('local')
  })

  it('reports every problem of every model at once, in the catalogue’s own lines; a template problem once', async () => {
    const text = CATALOG.replace('      tag: "{tag}"', '      tag: "{tag}"\n      colour: red')
      .replace('repo: acme/tiny, revision: v2', 'repo: acme/tiny, revison: v2')
      .replace('tag: "{commit}"', 'tag: "{sha}"')
    const ps = await problems(text)
    expect(ps.map((p) => `${p.at} ${p.message}`)).toEqual([
      '8:7 model `granite-3.1-2b`: [oci-layout] unknown field `colour` in sinks[0]',
      '11:43 model `tiny`: [hub] unknown field `revison` in sources[0] (did you mean `revision`?)',
      '18:14 model `local-one`: unknown placeholder `{sha}`',
    ])
  })

  it('a mistake in the catalogue’s own fields does not hide the models’ problems, nor is it said twice', async () => {
    const text = CATALOG.replace('template:\n', 'template:\n  image:\n    compression: lz4\n')
      .replace('repo: acme/tiny, revision: v2', 'repo: acme/tiny, revison: v2')
      .replace('tag: "{commit}"', 'tag: "{sha}"')
      .replace('  - name: local-one', '  - name: local-one\n    tgas: [x]')
    const ps = await problems(text)
    expect(ps.map((p) => `${p.at} ${p.message}`)).toEqual([
      '5:18 template.image.compression: `lz4` is not one of `none`, `gzip`, `zstd`',
      '12:43 model `tiny`: [hub] unknown field `revison` in sources[0] (did you mean `revision`?)',
      expect.stringMatching(/^15:5 unknown field `tgas` in models\[2\]/),
      '20:14 model `local-one`: unknown placeholder `{sha}`',
    ])
  })

  it('names two models alike only with a name of their own', async () => {
    const ps = await problems(CATALOG.replace('repo: acme/tiny, revision: v2', 'repo: other/Granite-3.1-2B'))
    expect(ps).toContainEqual(
      expect.objectContaining({ message: 'models[1] and models[0] are both named `granite-3.1-2b`', hint: 'give one of them a `name:`' }),
    )
  })

  it('its own fields are checked like a recipe’s', async () => {
    const ps = await problems(CATALOG.replace('kind: Catalog', 'kind: Catalog\nmodel: []'))
    expect(ps).toEqual([expect.objectContaining({ at: '3:1', message: expect.stringContaining('unknown field `model`') })])
  })
})

describe('shards', () => {
  it('deal the models by position: every model in one shard, earlier ones unmoved when models are added at the end', async () => {
    const { shardOf } = await import('./shards.js')
    const models = Array.from({ length: 7 }, (_, index) => ({ index }))
    const dealt = [0, 1, 2].map((i) => shardOf(models, i, 3).map((m) => m.index))
    expect(dealt).toEqual([
      [0, 3, 6],
      [1, 4],
      [2, 5],
    ])
    const more = [...models, { index: 7 }, { index: 8 }]
    for (const i of [0, 1, 2])
      expect(
        shardOf(more, i, 3)
          .map((m) => m.index)
          .slice(0, dealt[i]!.length),
      ).toEqual(dealt[i])
    expect(() => shardOf(models, 3, 3)).toThrow('does not exist')
  })
})

describe('tags', () => {
  it('a sink that takes a `tags` list gets every tag at once (one upload); others are written once per tag', async () => {
    const { defineSink } = await import('../contract/component.js')
    const multi = defineSink({
      type: 'multi',
      description: 'test',
      schema: Type.Object(
        { ref: Type.String({ description: 'ref' }), tags: Type.Optional(Type.Array(Type.String(), { description: 'more tags' })) },
        { additionalProperties: false },
      ),
      create: () => {
        throw new Error('unused')
      },
    })
    const text = `apiVersion: modelcar/v1
kind: Catalog
template:
  sinks:
    - type: multi
      ref: "r/{name}:{tag}"
    - type: oci-layout
      path: ./out
      tag: "{tag}"
models:
  - source: { type: hub, repo: acme/tiny }
    tags: [v1, latest]
`
    const catalog = await parseCatalog(text, '/tmp/c.yaml', { registry: registry().register(multi) })
    const recipe = await catalog.models[0]!.recipe()
    expect(recipe.sinks.map((s) => [s.type, s.config])).toEqual([
      ['multi', { ref: 'r/tiny:v1', tags: ['latest'] }],
      ['oci-layout', { path: './out', tag: 'v1' }],
      ['oci-layout', { path: './out', tag: 'latest' }],
    ])
  })
})
