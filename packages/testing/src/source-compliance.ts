// assertSourceCompliance: what the engine relies on from a source, checked against the real
// component. Listing is stable and byte-free, sizes and digests match the bytes, identities and
// fingerprints are stable, name one content each and carry no secret, `open({ start })` resumes
// at that byte, paths are safe, failures are ModelcarErrors that leak no secret, nothing is read
// from process.env, and no hook hangs.
import {
  isDigest,
  isModelcarError,
  safeModelPath,
  sha256Digest,
  type ComponentContext,
  type ModelFile,
  type SourceComponent,
  type SourceInstance,
} from '@modelcar/core'
import { watchEnv } from './env-watch.js'
import { checkedConfig } from './check-config.js'
import { checkContentNames, checkOneContentPerName, NAMES_CHECK } from './content-names.js'
import { startKit } from './kit-start.js'
import type { Step } from './kit-step.js'
import type { TestContext } from './test-context.js'

export interface SourceComplianceOptions {
  /** The context the source is created with (`testContext()` by default: empty env, no output). */
  context?: () => ComponentContext
  /** At least this many files must be listed (default 1). */
  minFiles?: number
  /** Configs that must fail (at create, list or read) with a ModelcarError, e.g. a missing path. */
  failing?: Record<string, unknown>[]
  /** How many files to re-open at offsets (the largest first; default 3). */
  resumeFiles?: number
  /**
   * Variables of process.env that a library the source uses reads on its own (the AWS SDK's
   * `AWS_EXECUTION_ENV`); `PREFIX_*` allows a family. Any other read of process.env fails the kit.
   */
  allowEnv?: string[]
  /** How long one call into the source (create, list, open, one chunk) may take (default 4 s). */
  stepTimeoutMs?: number
}

export interface ListedFile {
  path: string
  size: number
  digest: string | undefined
  mode: number | undefined
  identity: string | undefined
  fingerprint: string | undefined
  /** sha256 of the bytes read. */
  sha256: string
}

export interface SourceComplianceReport {
  files: ListedFile[]
  /** The rules checked, for a test's output. */
  checks: string[]
}

interface Kit {
  component: SourceComponent
  opts: SourceComplianceOptions
  fail: (message: string) => never
  step: Step
  newContext: () => ComponentContext
}

export async function assertSourceCompliance(
  component: SourceComponent,
  config: Record<string, unknown>,
  opts: SourceComplianceOptions = {},
): Promise<SourceComplianceReport> {
  const { fail, cfg, step, newContext } = startKit(component, 'source', config, opts)
  const kit: Kit = { component, opts, fail, step, newContext }
  const { value, reads } = await watchEnv(opts.allowEnv ?? [], () => runRules(kit, cfg))
  const problem = reads.problem()
  if (problem) fail(problem)
  value.checks.push('reads nothing from process.env (ctx.env only)')
  return value
}

async function runRules(kit: Kit, cfg: Record<string, unknown>): Promise<SourceComplianceReport> {
  const { fail, opts } = kit
  const checks: string[] = ['schema documents every field']
  // Two instances, each listed once (the contract: list() is called once per instance).
  const firstCtx = kit.newContext()
  const first = await listAll(kit, cfg, firstCtx)
  const second = await listAll(kit, cfg, kit.newContext())
  if (first.length < (opts.minFiles ?? 1)) fail(`listed ${first.length} files, expected at least ${opts.minFiles ?? 1}`)
  checkStable(first, second, fail)
  checks.push('listing is stable (paths, sizes, digests, modes, order)')
  checkListed(first, fail)
  checks.push('paths are relative, POSIX, normalized, unique; sizes and digests well-formed')
  const named = checkContentNames(first, second, firstCtx, fail)

  const files: ListedFile[] = []
  const bytesOf = new Map<string, Buffer>()
  for (const f of first) {
    const bytes = await readAll(kit, f, 0)
    if (bytes.length !== f.size) fail(`\`${f.path}\` is listed with size ${f.size} but open() yields ${bytes.length} bytes`)
    const sha256 = sha256Digest(bytes)
    if (f.digest !== undefined && f.digest !== sha256)
      fail(`\`${f.path}\` is listed with digest \`${f.digest}\` but its bytes hash to \`${sha256}\``)
    bytesOf.set(f.path, bytes)
    files.push({ path: f.path, size: f.size, digest: f.digest, mode: f.mode, identity: f.identity, fingerprint: f.fingerprint, sha256 })
  }
  checks.push('every file yields exactly its size, and its digest when listed')
  if (named) {
    checkOneContentPerName(files, fail)
    checks.push(NAMES_CHECK)
  }
  await checkResume(kit, first, bytesOf)
  checks.push('open({ start }) yields exactly the bytes from start on')
  await checkFailing(kit)
  if (opts.failing?.length) checks.push('failures are ModelcarErrors without secrets')
  const leaked = (firstCtx as Partial<TestContext>).secrets?.find(
    (s) => s.length >= 4 && JSON.stringify((firstCtx as TestContext).events).includes(s),
  )
  if (leaked) fail('a log line or event shows a secret the source registered with ctx.secret()')
  return { files, checks }
}

async function listAll(kit: Kit, config: Record<string, unknown>, ctx: ComponentContext): Promise<ModelFile[]> {
  const instance: SourceInstance = await kit.step('create() with a valid config', () => kit.component.create(config as never, ctx))
  if (!instance || typeof instance.list !== 'function') kit.fail('create() returned no instance with a list() method')
  const files: ModelFile[] = []
  const listing = instance.list()[Symbol.asyncIterator]()
  for (;;) {
    const next = await kit.step('list() with a valid config', () => listing.next())
    if (next.done) return files
    files.push(next.value)
  }
}

function checkStable(first: ModelFile[], second: ModelFile[], fail: (m: string) => never): void {
  const shape = (files: ModelFile[]) => files.map((f) => `${f.path} ${f.size} ${f.digest ?? '-'} ${f.mode ?? '-'}`)
  const a = shape(first)
  const b = shape(second)
  const diff = a.findIndex((line, i) => line !== b[i])
  if (a.length !== b.length || diff >= 0) {
    fail(
      `listing is not stable: two listings of the same config differ${diff >= 0 ? ` at entry ${diff}: \`${a[diff]}\` then \`${b[diff] ?? '(nothing)'}\`` : ` in length (${a.length} then ${b.length})`}`,
    )
  }
}

function checkListed(files: ModelFile[], fail: (m: string) => never): void {
  const seen = new Set<string>()
  for (const f of files) {
    if (typeof f.path !== 'string') fail(`a listed file has no path (${String(f.path)})`)
    let safe: string | undefined
    try {
      safe = safeModelPath(f.path)
    } catch (err) {
      fail(`path \`${f.path}\` is unsafe: ${(err as Error).message}`)
    }
    if (f.path.includes('\\')) fail(`path \`${f.path}\` has a backslash: paths are POSIX, separated by \`/\``)
    if (safe !== f.path)
      fail(`path \`${f.path}\` is not in normal form (relative, no empty, \`.\` or \`..\` segments); it would be stored as \`${safe}\``)
    if (seen.has(f.path)) fail(`path \`${f.path}\` is listed twice`)
    seen.add(f.path)
    if (!Number.isSafeInteger(f.size) || f.size < 0) fail(`\`${f.path}\` has size ${String(f.size)}, not a whole number of bytes`)
    if (f.digest !== undefined && !isDigest(f.digest)) fail(`\`${f.path}\` has digest \`${f.digest}\`, not \`sha256:\` and 64 hex digits`)
    if (f.mode !== undefined && (!Number.isInteger(f.mode) || f.mode < 0 || f.mode > 0o7777))
      fail(`\`${f.path}\` has mode ${f.mode}, not permission bits`)
    if (typeof f.open !== 'function') fail(`\`${f.path}\` has no open()`)
  }
}

/** A file's bytes from `start`, each call into the source (open, every chunk) a step of its own. */
async function readAll(kit: Kit, f: ModelFile, start: number): Promise<Buffer> {
  const what = `reading \`${f.path}\` from byte ${start}`
  const chunks: Buffer[] = []
  const stream = await kit.step(`open() of \`${f.path}\` at byte ${start}`, () => f.open(start === 0 ? {} : { start }))
  const it = (Symbol.asyncIterator in stream ? stream[Symbol.asyncIterator]() : stream[Symbol.iterator]()) as
    AsyncIterator<unknown> | Iterator<unknown>
  for (;;) {
    const next = await kit.step(what, async () => it.next())
    if (next.done) return Buffer.concat(chunks)
    const chunk = next.value
    if (!(chunk instanceof Uint8Array)) kit.fail(`\`${f.path}\` yields a ${typeof chunk} chunk, not bytes (Uint8Array/Buffer)`)
    chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))
  }
}

async function checkResume(kit: Kit, files: ModelFile[], bytesOf: Map<string, Buffer>): Promise<void> {
  const resumable = [...files].sort((x, y) => y.size - x.size).slice(0, kit.opts.resumeFiles ?? 3)
  for (const f of resumable) {
    const whole = bytesOf.get(f.path)!
    for (const start of offsets(f.size)) {
      const tail = await readAll(kit, f, start)
      if (!tail.equals(whole.subarray(start))) {
        const got = tail.length === whole.length - start ? 'different bytes' : `${tail.length} bytes`
        kit.fail(
          `\`${f.path}\` opened at start ${start} yields ${got}; expected the last ${whole.length - start} bytes of the file (is \`start\` ignored?)`,
        )
      }
    }
  }
}

/** Offsets a cut read could resume at: just after the start, the middle, the last byte, the end. */
function offsets(size: number): number[] {
  return [...new Set([1, Math.floor(size / 2), size - 1, size].filter((o) => o > 0 && o <= size))]
}

async function checkFailing(kit: Kit): Promise<void> {
  for (const [i, bad] of (kit.opts.failing ?? []).entries()) {
    const ctx = kit.newContext()
    const cfg = checkedConfig(kit.component, bad, `failing[${i}]`)
    const err = await kit.step(`failing[${i}]`, () => firstFailure(kit.component, cfg, ctx))
    if (err === undefined)
      kit.fail(`failing[${i}] (${JSON.stringify(bad)}) did not fail: create, list and reading every file all succeeded`)
    if (!isModelcarError(err)) {
      const e = err as Error
      kit.fail(
        `failing[${i}] threw ${e?.constructor?.name ?? typeof err} \`${e?.message ?? String(err)}\`, not a ModelcarError: throw one (with a code, and a hint saying what would be right), e.g. \`new ModelcarError('MYSTORE_NOT_FOUND', …)\``,
      )
    }
    if (leakedSecret(err, ctx)) kit.fail(`failing[${i}]: the error message shows a secret the source registered with ctx.secret()`)
  }
}

async function firstFailure(component: SourceComponent, config: Record<string, unknown>, ctx: ComponentContext): Promise<unknown> {
  try {
    const instance = await component.create(config as never, ctx)
    for await (const f of instance.list()) {
      for await (const _ of (await f.open()) as AsyncIterable<unknown>) {
        // drained: a source may fail only once bytes move
      }
    }
    return undefined
  } catch (err) {
    return err ?? new Error('(threw undefined)')
  }
}

function leakedSecret(err: unknown, ctx: ComponentContext): boolean {
  const secrets = (ctx as Partial<TestContext>).secrets ?? []
  const e = err as { message?: string; hint?: string }
  const text = `${e.message ?? ''}\n${e.hint ?? ''}`
  return secrets.some((s) => s.length >= 4 && text.includes(s))
}
