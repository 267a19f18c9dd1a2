// assertTransformCompliance: what the engine relies on from a transform, checked against the real
// component on a small plan. apply() returns a plan and leaves the one it got as it was; the same
// input gives the same output; files it does not own keep their bytes; paths are safe and unique;
// derived files have safe, unique targets and build() gives text or bytes, the same each time;
// the engine can group the result into layers; nothing is read from process.env.
import {
  isModelcarError,
  planLayers,
  safeModelPath,
  sha256Digest,
  type ComponentContext,
  type ModelFile,
  type Plan,
  type StreamedFile,
  type TransformComponent,
  type TransformInstance,
} from '@modelcar/core'
import { watchEnv } from './env-watch.js'
import { copyPlan, firstDifference, kitPlan, planShape, type FunctionNames } from './kit-plan.js'
import { checkedConfig } from './check-config.js'
import { startKit } from './kit-start.js'
import type { Step } from './kit-step.js'

export interface TransformComplianceOptions {
  /** The context the transform is created with (`testContext()` by default: empty env, no output). */
  context?: () => ComponentContext
  /** The plan apply() gets (a copy each time); by default four small files of a source `kit`. */
  plan?: () => Plan
  /** Configs that must fail (at create or apply, on the same plan) with a ModelcarError. */
  failing?: Record<string, unknown>[]
  /** Variables of process.env a library the transform uses reads on its own; `PREFIX_*` allows a family. */
  allowEnv?: string[]
  /** How long one call into the transform (create, apply, one read, build) may take (default 4 s). */
  stepTimeoutMs?: number
}

export interface TransformComplianceReport {
  /** The plan apply() returned. */
  plan: Plan
  /** The content of each derived file, by target, built from the files' real digests. */
  derived: Map<string, Uint8Array>
  checks: string[]
}

interface Kit {
  type: string
  component: TransformComponent
  cfg: Record<string, unknown>
  opts: TransformComplianceOptions
  fail: (message: string) => never
  step: Step
  newContext: () => ComponentContext
}

export async function assertTransformCompliance(
  component: TransformComponent,
  config: Record<string, unknown>,
  opts: TransformComplianceOptions = {},
): Promise<TransformComplianceReport> {
  const { type, fail, cfg, step, newContext } = startKit(component, 'transform', config, opts)
  const kit: Kit = { type, component, cfg, opts, fail, step, newContext }
  const { value, reads } = await watchEnv(opts.allowEnv ?? [], () => runRules(kit))
  const problem = reads.problem()
  if (problem) fail(problem)
  value.checks.push('reads nothing from process.env (ctx.env only)')
  return value
}

async function runRules(kit: Kit): Promise<TransformComplianceReport> {
  const checks = ['schema documents every field']
  const input = (kit.opts.plan ?? kitPlan)()
  const bytesOf = await readPlan(kit, input, 'the input plan')

  const given = copyPlan(input)
  const functions: FunctionNames = new Map()
  const before = planShape(given, functions)
  const output = await applyOnce(kit, given)
  const changed = firstDifference(before, planShape(given, functions))
  if (changed) kit.fail(`apply() changed the plan it was given (return a new plan instead): ${changed}`)
  checks.push('apply() returns a plan and leaves the one it got as it was')

  checkFiles(kit, output)
  checks.push('file targets are safe, normal and unique; layer groups are names')
  const outBytes = await checkBytes(kit, output, bytesOf)
  checks.push('files it does not own keep their bytes; files it adds yield their size')

  const again = await applyOnce(kit, copyPlan(input))
  const differs = firstDifference(planShape(output), planShape(again))
  if (differs) kit.fail(`the same plan and config gave another plan on a second run: ${differs}`)
  checks.push('the same input gives the same plan')

  const derived = await checkDerived(kit, input, output, outBytes)
  checks.push('derived files have safe, unique targets; build() gives text or bytes, the same each time')
  try {
    planLayers(output)
  } catch (err) {
    kit.fail(`the engine cannot group the plan into layers: ${(err as Error).message}`)
  }
  checks.push('the engine can group the plan into layers')
  await checkFailing(kit, input)
  if (kit.opts.failing?.length) checks.push('failures are ModelcarErrors')
  return { plan: output, derived, checks }
}

/** A fresh instance's apply() on `plan`, checked to be a plan. */
async function applyOnce(kit: Kit, plan: Plan): Promise<Plan> {
  const instance: TransformInstance = await kit.step('create()', () => kit.component.create(kit.cfg as never, kit.newContext()))
  if (!instance || typeof instance.apply !== 'function') kit.fail('create() returned no instance with an apply() method')
  const out = await kit.step('apply()', () => instance.apply(plan))
  const p = out as Partial<Plan> | undefined
  if (!p || typeof p !== 'object') return kit.fail(`apply() returned ${String(out)}, not a plan (return \`{ ...plan, files }\`)`)
  for (const key of ['files', 'derived'] as const) if (!Array.isArray(p[key])) kit.fail(`apply() returned a plan without a \`${key}\` list`)
  if (typeof p.prefix !== 'string') kit.fail('apply() returned a plan without its `prefix`')
  for (const key of ['annotations', 'labels', 'layering'] as const)
    if (!p[key] || typeof p[key] !== 'object') kit.fail(`apply() returned a plan without \`${key}\``)
  return out
}

function checkFiles(kit: Kit, plan: Plan): void {
  const seen = new Set<string>()
  for (const [i, f] of plan.files.entries()) {
    if (!f?.file || typeof f.file.open !== 'function') kit.fail(`files[${i}] has no \`file\` with an open()`)
    if (typeof f.target !== 'string') kit.fail(`files[${i}] (\`${f.file.path}\`) has no \`target\``)
    let safe: string | undefined
    try {
      safe = safeModelPath(f.target)
    } catch (err) {
      kit.fail(`files[${i}] has an unsafe target \`${f.target}\`: ${(err as Error).message}`)
    }
    if (safe !== f.target) kit.fail(`files[${i}] has target \`${f.target}\`, not in normal form (it would be stored as \`${safe}\`)`)
    if (seen.has(f.target)) kit.fail(`two files have target \`${f.target}\`: the image would hold one over the other`)
    seen.add(f.target)
    if (typeof f.source !== 'string' || !f.source) kit.fail(`files[${i}] (\`${f.target}\`) has no \`source\``)
    if (f.layer !== undefined && (typeof f.layer !== 'string' || !f.layer))
      kit.fail(`files[${i}] (\`${f.target}\`) has layer ${JSON.stringify(f.layer)}: a layer group is a non-empty name`)
  }
}

/** Each file's bytes, keyed by source and listed path (what identifies a file whatever its target). */
async function readPlan(kit: Kit, plan: Plan, what: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>()
  for (const f of plan.files) out.set(fileKey(f.source, f.file), await readFile(kit, f.file, `${what}: \`${f.target}\``))
  return out
}

const fileKey = (source: string, file: ModelFile) => `${source}\0${file.path}`

async function readFile(kit: Kit, file: ModelFile, what: string): Promise<Buffer> {
  const chunks: Buffer[] = []
  const stream = await kit.step(`open() of ${what}`, () => file.open())
  const it = (Symbol.asyncIterator in stream ? stream[Symbol.asyncIterator]() : stream[Symbol.iterator]()) as
    AsyncIterator<Uint8Array> | Iterator<Uint8Array>
  for (;;) {
    const next = await kit.step(`reading ${what}`, async () => it.next())
    if (next.done) return Buffer.concat(chunks)
    chunks.push(Buffer.from(next.value))
  }
}

/** Files from elsewhere yield what they yielded before; files the transform adds yield their size. */
async function checkBytes(kit: Kit, plan: Plan, before: Map<string, Buffer>): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>()
  for (const f of plan.files) {
    const bytes = await readFile(kit, f.file, `\`${f.target}\``)
    out.set(f.target, bytes)
    if (bytes.length !== f.file.size) kit.fail(`\`${f.target}\` has size ${f.file.size} but yields ${bytes.length} bytes`)
    if (f.source === kit.type) continue
    const was = before.get(fileKey(f.source, f.file))
    if (!was)
      kit.fail(
        `\`${f.target}\` names source \`${f.source}\` and path \`${f.file.path}\`, but no such file was in the plan: a file the transform adds has its type (\`${kit.type}\`) as \`source\``,
      )
    if (!was.equals(bytes))
      kit.fail(
        `\`${f.target}\` (from \`${f.source}\`) yields other bytes than its source gave: a transform does not change a file it does not own (add a derived file instead)`,
      )
  }
  return out
}

/** Derived files: safe, unique targets clear of the model files; build() of the real digests gives text or bytes. */
async function checkDerived(kit: Kit, input: Plan, plan: Plan, bytes: Map<string, Buffer>): Promise<Map<string, Uint8Array>> {
  const targets = new Set(plan.files.map((f) => f.target))
  const seen = new Set<string>()
  const inherited = new Set(input.derived.map((d) => d.build))
  const streamed: StreamedFile[] = plan.files.map((f) => ({
    target: f.target,
    size: f.file.size,
    digest: sha256Digest(bytes.get(f.target)!),
    ...(f.file.origin ? { origin: f.file.origin } : {}),
  }))
  const built = new Map<string, Uint8Array>()
  for (const [i, d] of plan.derived.entries()) {
    if (!d || typeof d.build !== 'function') kit.fail(`derived[${i}] has no build()`)
    let safe: string | undefined
    try {
      safe = safeModelPath(d.target, 'derived file')
    } catch (err) {
      kit.fail(`derived[${i}] has an unsafe target \`${d.target}\`: ${(err as Error).message}`)
    }
    if (safe !== d.target) kit.fail(`derived[${i}] has target \`${d.target}\`, not in normal form (write it as \`${safe}\`)`)
    if (targets.has(d.target)) kit.fail(`derived file \`${d.target}\` has the target of a model file`)
    if (seen.has(d.target)) kit.fail(`two derived files have target \`${d.target}\``)
    seen.add(d.target)
    if (!inherited.has(d.build) && d.source !== kit.type)
      kit.fail(`derived file \`${d.target}\` names source \`${d.source}\`: a derived file the transform adds has its type as \`source\``)
    const first = await buildOnce(kit, d.target, () => d.build(streamed))
    const second = await buildOnce(kit, d.target, () => d.build(streamed.map((s) => ({ ...s }))))
    if (!Buffer.from(first).equals(Buffer.from(second)))
      kit.fail(`derived file \`${d.target}\`: build() gave other content the second time`)
    built.set(d.target, first)
  }
  return built
}

async function buildOnce(kit: Kit, target: string, build: () => unknown): Promise<Uint8Array> {
  const content = await kit.step(`build() of derived file \`${target}\``, build)
  if (typeof content === 'string') return Buffer.from(content, 'utf8')
  if (content instanceof Uint8Array) return content
  return kit.fail(`build() of derived file \`${target}\` returned ${typeof content}, not text (a string) or bytes (a Uint8Array)`)
}

async function checkFailing(kit: Kit, input: Plan): Promise<void> {
  for (const [i, bad] of (kit.opts.failing ?? []).entries()) {
    const cfg = checkedConfig(kit.component, bad, `failing[${i}]`)
    const err = await kit.step(`failing[${i}]`, async () => {
      try {
        const instance = await kit.component.create(cfg as never, kit.newContext())
        await instance.apply(copyPlan(input))
        return undefined
      } catch (e) {
        return e ?? new Error('(threw undefined)')
      }
    })
    if (err === undefined) kit.fail(`failing[${i}] (${JSON.stringify(bad)}) did not fail: create and apply both succeeded`)
    if (!isModelcarError(err))
      kit.fail(
        `failing[${i}] threw ${(err as Error)?.constructor?.name ?? typeof err} \`${(err as Error)?.message ?? String(err)}\`, not a ModelcarError: throw one with a code of your own and a hint`,
      )
  }
}
