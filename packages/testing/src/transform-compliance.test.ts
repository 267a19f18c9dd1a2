// The kit's transform rules against the official transforms, a correct transform that adds a
// file and a derived file, and copies of it with one defect each: every defect must be caught,
// with a message that names the rule.
import { describe, expect, it } from 'vitest'
import {
  annotateTransform,
  defineTransform,
  layersTransform,
  ModelcarError,
  modelcardTransform,
  Type,
  withDefault,
  type Plan,
} from '@modelcar/core'
import { KIT_SOURCE, kitPlan } from './kit-plan.js'
import { assertTransformCompliance } from './transform-compliance.js'

interface Defects {
  /** apply() adds its annotation to the plan it got. */
  mutates?: boolean
  /** apply() sorts the files of the plan it got in place. */
  sortsInPlace?: boolean
  /** Each run annotates another value. */
  random?: boolean
  /** apply() wraps open() of the source's files and changes their bytes. */
  rewritesBytes?: boolean
  /** The derived file's target. */
  derivedTarget?: string
  /** build() returns this instead of text. */
  buildReturns?: unknown
  /** build() gives other content each time. */
  buildRandom?: boolean
  /** The added file's size is off by one. */
  addedSizeOff?: boolean
  /** apply() returns nothing. */
  returnsNothing?: boolean
  /** A failing config throws a plain Error. */
  plainError?: boolean
  /** create() reads this variable of process.env. */
  readsEnv?: string
  /** The added file claims the source's type. */
  borrowsSource?: boolean
}

/** Transform `stamp`: adds `STAMP` (a file) and `INDEX` (a derived file listing every target), groups weights. */
function stamp(defects: Defects = {}) {
  return defineTransform({
    type: 'stamp',
    description: 'Adds a stamp file and an index of the files (a test transform).',
    schema: Type.Object(
      {
        text: withDefault(Type.String({ description: 'What the stamp says.' }), 'stamped'),
        refuse: withDefault(Type.Boolean({ description: 'Fail, as a transform does when its target is taken.' }), false),
      },
      { additionalProperties: false },
    ),
    create(config) {
      // What a component must not do: its environment is ctx.env.
      if (defects.readsEnv) void process.env[defects.readsEnv]
      return {
        apply(plan: Plan): Plan | undefined {
          if (config.refuse) {
            if (defects.plainError) throw new Error('STAMP is taken')
            throw new ModelcarError('STAMP_TARGET_TAKEN', '`STAMP` is taken', { hint: 'set `refuse: false`' })
          }
          if (defects.returnsNothing) return undefined
          const text = Buffer.from(config.text)
          const annotations = { ...plan.annotations, 'org.example.stamp': defects.random ? String(Math.random()) : config.text }
          if (defects.mutates) plan.annotations['org.example.stamp'] = config.text
          if (defects.sortsInPlace) plan.files.sort((a, b) => b.target.localeCompare(a.target))
          const files = plan.files.map((f) =>
            defects.rewritesBytes && f.target === 'config.json'
              ? { ...f, file: { ...f.file, open: async () => [Buffer.from('{"hidden_size":9}\n')] } }
              : { ...f, ...(f.target.endsWith('.safetensors') ? { layer: 'weights' } : {}) },
          )
          files.push({
            target: 'STAMP',
            source: defects.borrowsSource ? KIT_SOURCE : 'stamp',
            file: { path: 'STAMP', size: text.length + (defects.addedSizeOff ? 1 : 0), open: async () => [text] },
          })
          const derived = {
            target: defects.derivedTarget ?? 'INDEX',
            source: 'stamp',
            build: (streamed: readonly { target: string; digest: string }[]) =>
              (defects.buildReturns ??
                streamed.map((s) => `${s.digest} ${s.target}${defects.buildRandom ? Math.random() : ''}\n`).join('')) as string,
          }
          return { ...plan, files, annotations, derived: [...plan.derived, derived] }
        },
      } as { apply(plan: Plan): Plan }
    },
  })
}

describe('assertTransformCompliance', () => {
  it('passes a correct transform and reports its plan and derived files', async () => {
    const report = await assertTransformCompliance(stamp(), { text: 'hello' }, { failing: [{ refuse: true }] })
    expect(report.plan.files.map((f) => f.target)).toEqual([
      'README.md',
      'config.json',
      'model.safetensors',
      'tokenizer/vocab.json',
      'STAMP',
    ])
    const index = Buffer.from(report.derived.get('INDEX')!).toString()
    expect(index.split('\n')[1]).toMatch(/^sha256:[0-9a-f]{64} config.json$/)
    expect(report.checks).toEqual([
      'schema documents every field',
      'apply() returns a plan and leaves the one it got as it was',
      'file targets are safe, normal and unique; layer groups are names',
      'files it does not own keep their bytes; files it adds yield their size',
      'the same input gives the same plan',
      'derived files have safe, unique targets; build() gives text or bytes, the same each time',
      'the engine can group the plan into layers',
      'failures are ModelcarErrors',
      'reads nothing from process.env (ctx.env only)',
    ])
  })

  it('passes the official transforms', async () => {
    await assertTransformCompliance(annotateTransform, { annotations: { a: 'b' }, labels: { team: 'ml' } })
    await assertTransformCompliance(layersTransform, { strategy: 'grouped', groupBelow: '64KiB' })
    const card = await assertTransformCompliance(modelcardTransform, { file: 'README.md' }, { failing: [{ file: 'CARD.md' }] })
    expect(card.plan.files.filter((f) => f.modelcard).map((f) => f.target)).toEqual(['README.md'])
  })

  it('runs on the plan a test gives', async () => {
    const plan = (): Plan => ({ ...kitPlan(), prefix: 'opt/ml', files: kitPlan().files.slice(0, 2) })
    const report = await assertTransformCompliance(stamp(), {}, { plan })
    expect(report.plan.prefix).toBe('opt/ml')
    expect(report.plan.files).toHaveLength(3)
  })

  it.each<[string, Defects, RegExp]>([
    [
      'apply() that changes the plan it got',
      { mutates: true },
      /\[stamp\] not compliant: apply\(\) changed the plan it was given \(return a new plan instead\): annotations.org.example.stamp: \(nothing\) then `"stamped"`/,
    ],
    ['apply() that sorts the given files in place', { sortsInPlace: true }, /apply\(\) changed the plan it was given .*: files\[0\]/],
    ['apply() that returns nothing', { returnsNothing: true }, /apply\(\) returned undefined, not a plan/],
    [
      'a plan that differs between two runs',
      { random: true },
      /the same plan and config gave another plan on a second run: annotations.org.example.stamp: `"0\.\d+"` then `"0\.\d+"`/,
    ],
    [
      'a transform that changes the bytes of a file it does not own',
      { rewritesBytes: true },
      /`config.json` \(from `kit`\) yields other bytes than its source gave: a transform does not change a file it does not own/,
    ],
    ['an added file whose size is not its byte count', { addedSizeOff: true }, /`STAMP` has size 8 but yields 7 bytes/],
    [
      'an added file that claims another source',
      { borrowsSource: true },
      /`STAMP` names source `kit` and path `STAMP`, but no such file was in the plan/,
    ],
    [
      'a derived file that climbs out',
      { derivedTarget: '../INDEX' },
      /derived\[0\] has an unsafe target `..\/INDEX`: .*would escape the image prefix/,
    ],
    ['a derived file in no normal form', { derivedTarget: 'docs//INDEX' }, /derived\[0\] has target `docs\/\/INDEX`, not in normal form/],
    ['a derived file on a model file', { derivedTarget: 'config.json' }, /derived file `config.json` has the target of a model file/],
    ['a build() that returns neither text nor bytes', { buildReturns: 42 }, /build\(\) of derived file `INDEX` returned number, not text/],
    [
      'a build() that gives other content each time',
      { buildRandom: true },
      /derived file `INDEX`: build\(\) gave other content the second time/,
    ],
    ['a transform that reads process.env', { readsEnv: 'STAMP_TEXT' }, /read `STAMP_TEXT` from process.env/],
  ])('catches %s', async (_what, defects, message) => {
    await expect(assertTransformCompliance(stamp(defects), {})).rejects.toThrow(message)
  })

  it('catches a failing config that throws a plain Error, or does not fail', async () => {
    await expect(assertTransformCompliance(stamp({ plainError: true }), {}, { failing: [{ refuse: true }] })).rejects.toThrow(
      /failing\[0\] threw Error `STAMP is taken`, not a ModelcarError/,
    )
    await expect(assertTransformCompliance(stamp(), {}, { failing: [{ text: 'fine' }] })).rejects.toThrow(/failing\[0\] .* did not fail/)
  })

  it('catches a schema field without a description, and a config its schema rejects', async () => {
    const bare = defineTransform({
      type: 'bare',
      description: 'x',
      schema: Type.Object({ n: Type.Number() }),
      create: () => ({ apply: (p) => p }),
    })
    await expect(assertTransformCompliance(bare, { n: 1 })).rejects.toThrow(
      /\[bare\] not compliant: schema fields without a description: n/,
    )
    await expect(assertTransformCompliance(stamp(), { txt: 'x' })).rejects.toThrow(/the config is rejected by the component's own schema/)
  })
})
