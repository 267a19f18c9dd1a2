// assertSourceCompliance: what the engine relies on from a source, checked against the real
// component. Listing is stable and byte-free, sizes and digests match the bytes, `open({ start })`
// resumes at that byte, paths are safe, and failures are ModelcarErrors that leak no secret.
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
import { checkedConfig, undocumentedFields } from './check-config.js'
import { ComplianceError } from './compliance-error.js'
import { testContext, type TestContext } from './test-context.js'

export interface SourceComplianceOptions {
  /** The context the source is created with (`testContext()` by default: empty env, no output). */
  context?: () => ComponentContext
  /** At least this many files must be listed (default 1). */
  minFiles?: number
  /** Configs that must fail (at create, list or read) with a ModelcarError, e.g. a missing path. */
  failing?: Record<string, unknown>[]
  /** How many files to re-open at offsets (the largest first; default 3). */
  resumeFiles?: number
}

export interface ListedFile {
  path: string
  size: number
  digest: string | undefined
  mode: number | undefined
  /** sha256 of the bytes read. */
  sha256: string
}

export interface SourceComplianceReport {
  files: ListedFile[]
  /** The rules checked, for a test's output. */
  checks: string[]
}

export async function assertSourceCompliance(
  component: SourceComponent,
  config: Record<string, unknown>,
  opts: SourceComplianceOptions = {},
): Promise<SourceComplianceReport> {
  const type = typeof component?.type === 'string' ? component.type : '(no type)'
  const fail = (message: string): never => {
    throw new ComplianceError(type, message)
  }
  if (component?.kind !== 'source') fail(`kind is \`${String(component?.kind)}\`, not \`source\` (use defineSource)`)
  if (typeof component.description !== 'string' || !component.description) fail('has no `description` (one line for its reference page)')
  const undocumented = undocumentedFields(component.schema)
  if (undocumented.length) fail(`schema fields without a description: ${undocumented.join(', ')} (the schema is the reference page)`)
  const checks: string[] = ['schema documents every field']
  const newContext = opts.context ?? (() => testContext({ type }))
  const cfg = checkedConfig(component, config, 'the config')

  // Two instances, each listed once (the contract: list() is called once per instance).
  const firstCtx = newContext()
  const first = await listAll(component, cfg, firstCtx, fail)
  const second = await listAll(component, cfg, newContext(), fail)
  if (first.files.length < (opts.minFiles ?? 1)) fail(`listed ${first.files.length} files, expected at least ${opts.minFiles ?? 1}`)
  const shape = (files: ModelFile[]) => files.map((f) => `${f.path} ${f.size} ${f.digest ?? '-'} ${f.mode ?? '-'}`)
  const a = shape(first.files)
  const b = shape(second.files)
  const diff = a.findIndex((line, i) => line !== b[i])
  if (a.length !== b.length || diff >= 0) {
    fail(
      `listing is not stable: two listings of the same config differ${diff >= 0 ? ` at entry ${diff}: \`${a[diff]}\` then \`${b[diff] ?? '(nothing)'}\`` : ` in length (${a.length} then ${b.length})`}`,
    )
  }
  checks.push('listing is stable (paths, sizes, digests, modes, order)')

  const seen = new Set<string>()
  for (const f of first.files) {
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
  checks.push('paths are relative, POSIX, normalized, unique; sizes and digests well-formed')

  const files: ListedFile[] = []
  const bytesOf = new Map<string, Buffer>()
  for (const f of first.files) {
    const bytes = await readAll(f, 0, fail)
    if (bytes.length !== f.size) fail(`\`${f.path}\` is listed with size ${f.size} but open() yields ${bytes.length} bytes`)
    const sha256 = sha256Digest(bytes)
    if (f.digest !== undefined && f.digest !== sha256)
      fail(`\`${f.path}\` is listed with digest \`${f.digest}\` but its bytes hash to \`${sha256}\``)
    bytesOf.set(f.path, bytes)
    files.push({ path: f.path, size: f.size, digest: f.digest, mode: f.mode, sha256 })
  }
  checks.push('every file yields exactly its size, and its digest when listed')

  const resumable = [...first.files].sort((x, y) => y.size - x.size).slice(0, opts.resumeFiles ?? 3)
  for (const f of resumable) {
    const whole = bytesOf.get(f.path)!
    for (const start of offsets(f.size)) {
      const tail = await readAll(f, start, fail)
      if (!tail.equals(whole.subarray(start))) {
        const got = tail.length === whole.length - start ? 'different bytes' : `${tail.length} bytes`
        fail(
          `\`${f.path}\` opened at start ${start} yields ${got}; expected the last ${whole.length - start} bytes of the file (is \`start\` ignored?)`,
        )
      }
    }
  }
  checks.push('open({ start }) yields exactly the bytes from start on')

  for (const [i, bad] of (opts.failing ?? []).entries()) {
    const ctx = newContext()
    const err = await firstFailure(component, checkedConfig(component, bad, `failing[${i}]`), ctx)
    if (err === undefined) fail(`failing[${i}] (${JSON.stringify(bad)}) did not fail: create, list and reading every file all succeeded`)
    if (!isModelcarError(err)) {
      const e = err as Error
      fail(
        `failing[${i}] threw ${e?.constructor?.name ?? typeof err} \`${e?.message ?? String(err)}\`, not a ModelcarError: throw one (with a code, and a hint saying what would be right), e.g. \`new ModelcarError('COMPONENT_FAILED', …)\``,
      )
    }
    const leaked = leakedSecret(err, ctx)
    if (leaked) fail(`failing[${i}]: the error message shows a secret the source registered with ctx.secret()`)
  }
  if (opts.failing?.length) checks.push('failures are ModelcarErrors without secrets')
  const leaked = (firstCtx as Partial<TestContext>).secrets?.find(
    (s) => s.length >= 4 && JSON.stringify((firstCtx as TestContext).events).includes(s),
  )
  if (leaked) fail('a log line or event shows a secret the source registered with ctx.secret()')
  return { files, checks }
}

async function listAll(
  component: SourceComponent,
  config: Record<string, unknown>,
  ctx: ComponentContext,
  fail: (m: string) => never,
): Promise<{ instance: SourceInstance; files: ModelFile[] }> {
  let instance: SourceInstance
  try {
    instance = await component.create(config as never, ctx)
  } catch (err) {
    return fail(`create() failed with a valid config: ${(err as Error)?.message ?? String(err)}`)
  }
  if (!instance || typeof instance.list !== 'function') fail('create() returned no instance with a list() method')
  const files: ModelFile[] = []
  try {
    for await (const f of instance.list()) files.push(f)
  } catch (err) {
    return fail(`list() failed with a valid config: ${(err as Error)?.message ?? String(err)}`)
  }
  return { instance, files }
}

async function readAll(f: ModelFile, start: number, fail: (m: string) => never): Promise<Buffer> {
  const chunks: Buffer[] = []
  try {
    const stream = await f.open(start === 0 ? {} : { start })
    for await (const chunk of stream as AsyncIterable<unknown>) {
      if (!(chunk instanceof Uint8Array)) fail(`\`${f.path}\` yields a ${typeof chunk} chunk, not bytes (Uint8Array/Buffer)`)
      chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))
    }
  } catch (err) {
    if (err instanceof ComplianceError) throw err
    return fail(`reading \`${f.path}\` from byte ${start} failed: ${(err as Error)?.message ?? String(err)}`)
  }
  return Buffer.concat(chunks)
}

/** Offsets a cut read could resume at: just after the start, the middle, the last byte, the end. */
function offsets(size: number): number[] {
  return [...new Set([1, Math.floor(size / 2), size - 1, size].filter((o) => o > 0 && o <= size))]
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
