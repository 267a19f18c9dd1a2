// Whatever a component throws, in whichever hook, reaches the user as a ModelcarError that names
// the component's type and the phase: `[type] open failed: …` is not `[type] read failed: …`.
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Type } from '@sinclair/typebox'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createCoreRegistry } from '../builtins.js'
import { defineSink, defineSource, defineTransform } from '../contract/component.js'
import { errors, isModelcarError, ModelcarError } from '../errors/index.js'
import { ociLayoutSink } from '../sinks/oci-layout.js'
import { parseRecipe } from '../recipe/load-recipe.js'
import { runRecipe } from './run-recipe.js'

let dir: string
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mc-phase-'))
})
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true })
})

const failAt = Type.Object({ failAt: Type.String({ description: 'The hook that throws.' }) })
const boom = (hook: string) => new Error(`${hook} went wrong`)

const saboteurSource = defineSource({
  type: 'saboteur',
  description: 'A source that throws a plain Error in the hook it is told.',
  schema: failAt,
  create({ failAt: at }) {
    if (at === 'create') throw boom('create')
    return {
      async *list() {
        if (at === 'list') throw boom('list')
        yield {
          path: 'w.bin',
          size: 4,
          async open() {
            if (at === 'open') throw boom('open')
            return (async function* () {
              yield new Uint8Array([1, 2])
              if (at === 'read') throw boom('read')
              yield new Uint8Array([3, 4])
            })()
          },
        }
      },
    }
  },
})

const saboteurTransform = defineTransform({
  type: 'saboteur',
  description: 'A transform that throws.',
  schema: failAt,
  create: () => ({
    apply() {
      throw boom('apply')
    },
  }),
})

const saboteurSink = defineSink({
  type: 'saboteur-sink',
  description: 'An oci-layout sink that throws in the hook it is told.',
  schema: Type.Object({ failAt: Type.String({ description: 'The hook that throws.' }), path: Type.String({ description: 'Layout.' }) }),
  async create(config, ctx) {
    const inner = await ociLayoutSink.create({ path: config.path, tag: 'latest' }, ctx)
    const at = config.failAt
    return {
      ...inner,
      async check() {
        if (at === 'check') throw boom('check')
      },
      async openBlob(hint) {
        if (at === 'openBlob') throw boom('openBlob')
        const w = await inner.openBlob(hint)
        return at === 'write'
          ? {
              ...w,
              write: async () => {
                throw boom('write')
              },
            }
          : w
      },
      async commit(image) {
        if (at === 'commit') throw boom('commit')
        return inner.commit(image)
      },
    }
  },
})

async function run(sourceFail: string, extra = '', sinkFail?: string) {
  const sink = sinkFail ? `  - type: saboteur-sink\n    path: ./out\n    failAt: ${sinkFail}\n` : '  - type: oci-layout\n    path: ./out\n'
  const text = `apiVersion: modelcar/v1\nsources:\n  - type: saboteur\n    failAt: ${sourceFail}\n${extra}sinks:\n${sink}`
  const recipe = await parseRecipe(text, path.join(dir, 'recipe.yaml'), {
    registry: createCoreRegistry().register(saboteurSource).register(saboteurTransform).register(saboteurSink),
  })
  return runRecipe(recipe).then(
    () => undefined,
    (e: unknown) => e as ModelcarError,
  )
}

describe('errors thrown by components', () => {
  it.each(['create', 'list', 'open', 'read'])('a source throwing in %s is `[saboteur] %s failed`', async (phase) => {
    const err = await run(phase)
    expect(err).toBeInstanceOf(ModelcarError)
    expect(err).toMatchObject({
      code: 'COMPONENT_FAILED',
      component: 'saboteur',
      phase,
      message: `[saboteur] ${phase} failed: ${phase} went wrong`,
    })
    expect((err!.cause as Error).message).toBe(`${phase} went wrong`)
  })

  it('a transform throwing is `apply failed`', async () => {
    const err = await run('never', 'transforms:\n  - type: saboteur\n    failAt: apply\n')
    expect(err).toMatchObject({ component: 'saboteur', phase: 'apply', message: '[saboteur] apply failed: apply went wrong' })
  })

  it.each([
    ['check', 'check'],
    ['openBlob', 'write'],
    ['write', 'write'],
    ['commit', 'commit'],
  ])('a sink throwing in %s is `%s failed`, and the layout is left without a tag', async (hook, phase) => {
    const err = await run('never', '', hook)
    expect(err).toMatchObject({
      code: 'COMPONENT_FAILED',
      component: 'saboteur-sink',
      phase,
      message: `[saboteur-sink] ${phase} failed: ${hook} went wrong`,
    })
    await expect(fs.readFile(path.join(dir, 'out', 'index.json'))).rejects.toThrow()
  })

  it('a ModelcarError from the source keeps its code and gets the type in front', async () => {
    const src = defineSource({
      ...saboteurSource,
      type: 'picky',
      create: () => ({
        // eslint-disable-next-line require-yield -- a listing that fails before its first file
        async *list() {
          throw errors.sourcePathMissing('model')
        },
      }),
    })
    const recipe = await parseRecipe(
      'apiVersion: modelcar/v1\nsources:\n  - type: picky\n    failAt: x\nsinks:\n  - type: oci-layout\n    path: ./out\n',
      path.join(dir, 'r.yaml'),
      { registry: createCoreRegistry().register(src) },
    )
    await expect(runRecipe(recipe)).rejects.toMatchObject({
      code: 'SOURCE_PATH_MISSING',
      input: true,
      phase: 'list',
      message: '[picky] list failed: `model` does not exist',
    })
  })
})

describe('a plugin’s own error codes', () => {
  it('keep their code and hint, and get the component and phase', () => {
    const own = new ModelcarError('MYSTORE_QUOTA', 'the quota of `team-a` is used up', { hint: 'ask for more', retryAfterMs: 1000 })
    expect(errors.componentFailed('mystore', 'read', own)).toMatchObject({
      code: 'MYSTORE_QUOTA',
      message: '[mystore] read failed: the quota of `team-a` is used up',
      hint: 'ask for more',
      component: 'mystore',
      phase: 'read',
      retryAfterMs: 1000,
    })
  })
})

describe('ModelcarError across copies of @modelcar/core', () => {
  it('an error made by another copy of the class (a plugin with its own install) is recognized', () => {
    // What a second copy's constructor produces: its own class, the same mark.
    const foreign = Object.assign(new Error('`x` does not exist'), {
      [Symbol.for('modelcar.ModelcarError')]: true,
      code: 'SOURCE_PATH_MISSING',
      component: undefined,
    })
    expect(foreign instanceof ModelcarError).toBe(true)
    expect(isModelcarError(foreign)).toBe(true)
    expect(isModelcarError(new Error('plain'))).toBe(false)
    expect(errors.componentFailed('gcs', 'list', foreign)).toMatchObject({
      code: 'SOURCE_PATH_MISSING',
      message: '[gcs] list failed: `x` does not exist',
      phase: 'list',
    })
  })
})
