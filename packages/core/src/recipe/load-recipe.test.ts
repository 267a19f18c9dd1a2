import { describe, expect, it } from 'vitest'
import { Type } from '@sinclair/typebox'
import { createCoreRegistry } from '../builtins.js'
import { defineBase } from '../contract/component.js'
import { isModelcarError, type Diagnostic } from '../errors/index.js'
import { parseRecipe, type LoadRecipeOptions } from './load-recipe.js'

const SOURCES = 'sources:\n  - type: local\n    path: ./model\n'
const SINKS = 'sinks:\n  - type: oci-layout\n    path: ./out\n'
const VALID = `apiVersion: modelcar/v1\n${SOURCES}${SINKS}`

/** The problems parseRecipe reports, as `line:col message` plus the hint, for compact asserts. */
async function problems(text: string, opts: Partial<LoadRecipeOptions> = {}): Promise<(Diagnostic & { at: string })[]> {
  try {
    await parseRecipe(text, 'r.yaml', { registry: createCoreRegistry(), env: {}, ...opts })
  } catch (err) {
    if (!isModelcarError(err) || err.code !== 'RECIPE_INVALID') throw err
    return err.diagnostics.map((d) => ({ ...d, at: d.location ? `${d.location.line}:${d.location.col}` : '-' }))
  }
  throw new Error('the recipe was accepted')
}

describe('YAML syntax errors', () => {
  it('points at the opening quote of an unclosed string, not at the end of the file', async () => {
    const [p, ...rest] = await problems(`apiVersion: modelcar/v1\nsources:\n  - type: local\n    path: "./model\n${SINKS}`)
    expect(rest).toEqual([])
    expect(p).toMatchObject({ at: '4:11', message: expect.stringContaining('double-quoted string that starts here is not closed') })
  })

  it('names a duplicate key and where the first one is', async () => {
    const [p] = await problems(`${VALID}    tag: a\n    tag: b\n`)
    expect(p).toMatchObject({ at: '9:5', message: 'YAML: duplicate key `tag` (first at line 8)' })
  })

  it('points at a misindented key and says how it is indented', async () => {
    const [p] = await problems(`apiVersion: modelcar/v1\n${SOURCES}   into: x\n${SINKS}`)
    expect(p).toMatchObject({ at: '5:4', hint: expect.stringContaining('line 5 is indented by 3 spaces, the line above by 4') })
  })

  it('reports one slip once, though the parser raises two errors for it', async () => {
    const ps = await problems(`apiVersion: modelcar/v1\nsources:\n  - type: local\n      path: ./model\n${SINKS}`)
    expect(ps).toHaveLength(1)
  })

  it('says what the file holds when it is not a mapping', async () => {
    const [p] = await problems('- type: local\n  path: ./model\n')
    expect(p).toMatchObject({ at: '1:1', message: 'a recipe is a mapping of fields, but this file holds a list' })
  })
})

describe('one diagnostic per mistake', () => {
  it('a misspelt top-level key is not also reported as the missing one', async () => {
    const ps = await problems(`apiVersion: modelcar/v1\n${SOURCES}${SINKS.replace('sinks', 'sinkz')}`)
    expect(ps.map((p) => `${p.at} ${p.message}`)).toEqual(['5:1 unknown field `sinkz` in the recipe (did you mean `sinks`?)'])
  })

  it('a misspelt component field is not also reported as the missing one', async () => {
    const ps = await problems(`apiVersion: modelcar/v1\n${SOURCES.replace('path', 'pth')}${SINKS}`)
    expect(ps.map((p) => `${p.at} ${p.message}`)).toEqual(['4:5 [local] unknown field `pth` in sources[0] (did you mean `path`?)'])
  })

  it('an unset variable is not also reported as the empty value it leaves', async () => {
    const ps = await problems(VALID.replace('./model', '${MODEL_DIR}'))
    expect(ps.map((p) => `${p.at} ${p.message}`)).toEqual(['4:11 environment variable `MODEL_DIR` is not set'])
  })

  it('a malformed reference is not also reported as a malformed value', async () => {
    const ps = await problems(`${VALID}    tag: \${1BAD}\n`)
    expect(ps.map((p) => `${p.at} ${p.message}`)).toEqual(['8:10 `${1BAD}` is not a variable reference'])
  })

  it('an unclosed reference is reported, not kept as text', async () => {
    const ps = await problems(VALID.replace('./model', '${MODEL_DIR'))
    expect(ps.map((p) => p.message)).toEqual(['`${MODEL_DIR` is not a variable reference'])
  })

  it('a bad base is one problem, with the registry form of a docker:// reference', async () => {
    // The registry base is the CLI's (from another package); any base called `registry` gets the hint.
    const registry = createCoreRegistry().register(
      defineBase({
        type: 'registry',
        shortForm: 'registry:REF',
        description: 'test',
        schema: Type.Object({}),
        fromText: () => ({}),
        create: () => ({ load: () => Promise.reject(new Error('unused')) }),
      }),
    )
    const ps = await problems(VALID.replace('sources:', 'base: docker://quay.io/org/busybox:1.36\nsources:'), { registry })
    expect(ps).toHaveLength(1)
    expect(ps[0]).toMatchObject({
      at: '2:7',
      message: 'base `docker://quay.io/org/busybox:1.36` is not a base image reference',
      hint: expect.stringContaining('that is `registry:quay.io/org/busybox:1.36`'),
    })
  })

  it('an entry that is not a mapping is one problem', async () => {
    const ps = await problems(`apiVersion: modelcar/v1\nsources:\n  - ./model\n${SINKS}`)
    expect(ps.map((p) => `${p.at} ${p.message}`)).toEqual(['3:5 sources[0]: expected a mapping with a `type`, got a string `./model`'])
  })
})

describe('messages', () => {
  it('a `type` that is not a name points at the type', async () => {
    const [p] = await problems(VALID.replace('type: local', 'type: 5'))
    expect(p).toMatchObject({ at: '3:11', message: 'sources[0].type: expected a component name, got `5`' })
  })

  it('a missing field says what to add', async () => {
    const [p] = await problems(VALID.replace('    path: ./model\n', '    into: x\n'))
    expect(p).toMatchObject({
      at: '3:5',
      message: '[local] sources[0] is missing the required field `path`',
      hint: expect.stringMatching(/^add `path: \.\/model`/),
    })
    const [q] = await problems(`${SOURCES}${SINKS}`)
    expect(q).toMatchObject({
      at: '1:1',
      message: 'the recipe is missing the required field `apiVersion`',
      hint: expect.stringMatching(/^add `apiVersion: modelcar\/v1`/),
    })
  })

  it('an empty value is located at its key', async () => {
    const [p] = await problems(VALID.replace('sinks:', 'transforms:\nsinks:'))
    expect(p).toMatchObject({ at: '5:1', message: 'transforms: expected a list, got nothing' })
  })

  it('a number out of range names the bound', async () => {
    const [p] = await problems(VALID.replace('sinks:', 'transforms:\n  - type: layers\n    maxLayers: 1\nsinks:'))
    expect(p).toMatchObject({ at: '7:16', message: '[layers] transforms[0].maxLayers: `1` is too small: it must be at least 2' })
  })

  it('a value for a union is judged by the branch of its type', async () => {
    const [p] = await problems(VALID.replace('sinks:', 'transforms:\n  - type: layers\n    groupBelow: 1 MiBB\nsinks:'))
    expect(p).toMatchObject({
      message: '[layers] transforms[0].groupBelow: `1 MiBB` is not in the expected form',
      hint: expect.stringContaining('`64KiB`'),
    })
  })

  it('a pattern mismatch shows the pattern', async () => {
    const [p] = await problems(`${VALID}    tag: "bad tag"\n`)
    expect(p).toMatchObject({ at: '8:10', hint: expect.stringContaining('(must match `^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)') })
  })

  it('never shows a value from the environment', async () => {
    const ps = await problems(`${VALID}image:\n  prefix: \${HF_TOKEN}\n  compression: \${HF_TOKEN}\n`, {
      env: { HF_TOKEN: 'hf_supersecretvalue' },
    })
    expect(ps).toHaveLength(2)
    expect(JSON.stringify(ps)).not.toContain('hf_supersecretvalue')
    expect(ps[0]!.message).toBe('image.prefix: (a value from the environment) is not in the expected form')
  })

  it('reports every problem, sorted by position', async () => {
    const ps = await problems(
      `apiVersion: modelcar/v1\nbase: docker://x\nsources:\n  - type: local\n    pth: ./model\nimage:\n  compression: lz4\n${SINKS}    tag: "bad tag"\n`,
    )
    expect(ps.map((p) => p.at)).toEqual(['2:7', '5:5', '7:16', '11:10'])
  })
})

/** An override from `KEY=VALUE`, with core's own label (`override \`KEY\``). */
function set(arg: string) {
  const eq = arg.indexOf('=')
  return { key: arg.slice(0, eq), value: arg.slice(eq + 1) }
}

describe('overrides', () => {
  it('a bad override points at the key it replaced and names the override', async () => {
    const [p] = await problems(`${VALID}image:\n  compression: none\n`, { overrides: [set('image.compression=lz4')] })
    expect(p).toMatchObject({
      at: '9:3',
      message: 'image.compression: `lz4` is not one of `none`, `gzip`, `zstd` (from override `image.compression`)',
    })
  })

  it('a key only an override has gets no place in the file', async () => {
    const [p] = await problems(VALID, { overrides: [set('image.compresion=gzip')] })
    expect(p).toMatchObject({
      at: '-',
      message: 'unknown field `compresion` in image (did you mean `compression`?) (from override `image.compresion`)',
    })
  })

  it('fills in a key that has no value', async () => {
    const recipe = await parseRecipe(`${VALID}image:\n`, 'r.yaml', {
      registry: createCoreRegistry(),
      overrides: [set('image.compression=gzip')],
    })
    expect(recipe.image.compression).toBe('gzip')
  })

  it('takes text that is not YAML as a string', async () => {
    const recipe = await parseRecipe(VALID, 'r.yaml', { registry: createCoreRegistry(), overrides: [set('sources.0.path=[odd')] })
    expect(recipe.sources[0]!.config.path).toBe('[odd')
  })

  it.each([
    ['sinks.3.tag=x', 'override `sinks.3.tag`: `sinks` has 1 entry, numbered from 0'],
    ['sinks.tag=x', 'override `sinks.tag`: `sinks` is a list; select an entry by its number, e.g. `sinks.0`'],
    ['apiVersion.x=1', 'override `apiVersion.x`: `apiVersion` is a single value, not a mapping or list'],
  ])('rejects the override `%s` as a wrong argument', async (arg, message) => {
    const run = parseRecipe(VALID, 'r.yaml', { registry: createCoreRegistry(), overrides: [set(arg)] })
    await expect(run).rejects.toMatchObject({ code: 'ARGUMENT_INVALID', message })
  })
})

describe('hostile YAML', () => {
  it('an alias bomb is a problem at its first alias, not a hung process', async () => {
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for (const [i, name] of ['b', 'c', 'd', 'e', 'f', 'g', 'h'].entries())
      levels.push(`${name}: &${name} [${Array(9).fill(`*${'abcdefg'[i]}`).join(',')}]`)
    const text = `apiVersion: modelcar/v1\nx-anchors:\n${levels.map((l) => `  ${l}`).join('\n')}\n${SOURCES}${SINKS}`
    const started = performance.now()
    const ps = await problems(text)
    expect(performance.now() - started).toBeLessThan(5000)
    expect(ps).toHaveLength(1)
    expect(ps[0]).toMatchObject({ at: '4:10', message: expect.stringContaining('aliases (`*name`) expand to too many values') })
  })

  it('a few aliases are fine', async () => {
    const recipe = await parseRecipe(`apiVersion: modelcar/v1\nsources:\n  - &src { type: local, path: ./model }\n${SINKS}`, 'r.yaml', {
      registry: createCoreRegistry(),
    })
    expect(recipe.sources[0]!.config.path).toBe('./model')
  })
})

describe('base', () => {
  it('the short form becomes the base component’s config; a mapping is checked like any entry', async () => {
    const short = await parseRecipe(`apiVersion: modelcar/v1\nbase: oci-layout:./base:v1\n${SOURCES}${SINKS}`, 'r.yaml', {
      registry: createCoreRegistry(),
    })
    expect(short.base).toMatchObject({ type: 'oci-layout', config: { path: './base', tag: 'v1' } })
    expect(short.baseText).toBe('oci-layout:./base:v1')
    const long = await parseRecipe(`apiVersion: modelcar/v1\nbase:\n  type: oci-layout\n  path: ./base\n${SOURCES}${SINKS}`, 'r.yaml', {
      registry: createCoreRegistry(),
    })
    expect(long.base).toMatchObject({ type: 'oci-layout', config: { path: './base' } })
    const [p] = await problems(`apiVersion: modelcar/v1\nbase:\n  type: oci-layout\n  pth: ./base\n${SOURCES}${SINKS}`)
    expect(p).toMatchObject({ at: '4:3', message: expect.stringContaining('unknown field `pth`') })
  })

  it('no base is scratch; another tool’s spelling gets the right one as a hint', async () => {
    expect((await parseRecipe(VALID, 'r.yaml', { registry: createCoreRegistry() })).base.type).toBe('scratch')
    const [p] = await problems(`apiVersion: modelcar/v1\nbase: oci:./x\n${SOURCES}${SINKS}`)
    expect(p).toMatchObject({
      at: '2:7',
      message: 'base `oci:./x` is not a base image reference',
      hint: expect.stringContaining('that is `oci-layout:./x`'),
    })
  })
})
