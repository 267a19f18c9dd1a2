// assertSinkCompliance: drives a sink through the runs the engine makes, with a small real image
// (two tar layers on a scratch base), and checks what the engine relies on: blobs are checked, an
// aborted blob or run leaves nothing at the target, commit() refuses an image whose blobs it does
// not hold and returns the image's digest, has() sees what was written, a re-run is idempotent,
// heldLayers() (when the sink has it) lists the committed image's layers with their annotations,
// `{ streamAgain }` is honoured, no hook hangs, and nothing is read from process.env.
import { randomBytes } from 'node:crypto'
import {
  sha256Digest,
  type BlobHint,
  type ComponentContext,
  type Descriptor,
  type EditedImage,
  type SinkComponent,
  type SinkInstance,
} from '@modelcar/core'
import { watchEnv } from './env-watch.js'
import { checkHeldCommitted, checkHeldEmpty, heldLayersOf, HELD_COMMITTED_CHECK, HELD_EMPTY_CHECK } from './held-layers.js'
import { kitImage, kitLayer, smallImage, type KitImage } from './kit-image.js'
import { startKit } from './kit-start.js'
import type { Step } from './kit-step.js'

export interface SinkComplianceOptions {
  context?: () => ComponentContext
  /** Called after the first commit with the image, to check the target with outside tools. */
  inspect?: (image: EditedImage, committed: { ref: string; digest: string }) => Promise<void>
  /**
   * What is at the target (files under a folder, objects under a prefix, tags): listed before and
   * after every abort, a refused blob and a refused commit, which must leave it as it was (no
   * temporary file, no staged blob). Without it the kit can only ask has().
   */
  listTarget?: () => Promise<string[]>
  /** Variables of process.env a library the sink uses reads on its own; `PREFIX_*` allows a family. */
  allowEnv?: string[]
  /** How long one call into the sink may take before the kit calls it stuck (default 4 s). */
  stepTimeoutMs?: number
}

export interface SinkComplianceReport {
  image: EditedImage
  checks: string[]
}

/** Times the engine streams a blob again on `{ streamAgain }` before it gives up. */
const MAX_STREAM_AGAIN = 2

interface Kit {
  fail: (message: string) => never
  step: Step
  create: () => Promise<SinkInstance>
  /** The target as listTarget sees it; [] without listTarget. */
  list: () => Promise<string[]>
  checks: string[]
}

export async function assertSinkCompliance(
  component: SinkComponent,
  config: Record<string, unknown>,
  opts: SinkComplianceOptions = {},
): Promise<SinkComplianceReport> {
  const { fail, cfg, step, newContext } = startKit(component, 'sink', config, opts)
  const kit: Kit = {
    fail,
    step,
    checks: [],
    create: async () => {
      const sink = await step('create()', () => component.create(cfg as never, newContext()))
      for (const m of ['has', 'openBlob', 'commit'] as const) if (typeof sink?.[m] !== 'function') fail(`the instance has no ${m}()`)
      if (typeof sink.target !== 'string' || !sink.target) fail('the instance has no `target` (its human form, for messages)')
      return sink
    },
    list: async () => (opts.listTarget ? [...(await step('listTarget()', opts.listTarget))].sort() : []),
  }
  const { value: image, reads } = await watchEnv(opts.allowEnv ?? [], async () => {
    const small = await smallImage()
    await firstRun(kit, small, opts)
    await reRun(kit, small)
    await refusedCommit(kit, small)
    await failedRun(kit, small)
    return small.image
  })
  const problem = reads.problem()
  if (problem) fail(problem)
  kit.checks.push('reads nothing from process.env (ctx.env only)')
  return { image, checks: kit.checks }
}

/** The target is as it was: what a step left (or removed) is named. */
async function unchanged(kit: Kit, before: string[], what: string): Promise<void> {
  const after = await kit.list()
  const added = after.filter((e) => !before.includes(e))
  const removed = before.filter((e) => !after.includes(e))
  if (!added.length && !removed.length) return
  const show = (names: string[]) => names.map((n) => `\`${n}\``).join(', ')
  kit.fail(
    `${what} changed the target: ${[added.length ? `left ${show(added)}` : '', removed.length ? `removed ${show(removed)}` : ''].filter(Boolean).join('; ')}`,
  )
}

async function firstRun(kit: Kit, small: KitImage, opts: SinkComplianceOptions): Promise<void> {
  const { fail, step } = kit
  const { image, layers } = small
  const sink = await kit.create()
  await step('check()', async () => sink.check?.())
  await step('prepare()', async () => sink.prepare?.())
  for (const l of layers)
    if (await step('has()', () => sink.has(l.descriptor)))
      fail(`has() says the new target already holds \`${l.descriptor.digest}\`; give a config for an empty target`)
  const empty = await kit.list()
  const heldBefore = await heldLayersOf(sink, step, 'on an empty target', fail)
  if (heldBefore) {
    checkHeldEmpty(heldBefore, fail)
    kit.checks.push(HELD_EMPTY_CHECK)
  }

  // A blob whose bytes do not match the digest it is committed under must be refused.
  const junk = randomBytes(1000)
  const claimed: Descriptor = { mediaType: 'application/octet-stream', digest: sha256Digest('something else'), size: junk.length }
  if ((await streamBlob(kit, sink, junk, claimed, true)) === undefined)
    fail('a blob committed (verify: true) under a digest its bytes do not have was accepted')
  await unchanged(kit, empty, 'a refused blob')
  kit.checks.push('a blob with the wrong digest is refused, and leaves nothing')

  // A blob written halfway and aborted leaves nothing.
  const cut = await step('openBlob()', () => sink.openBlob({ mediaType: layers[0]!.descriptor.mediaType, verify: false, attempt: 1 }))
  await step('write()', () => cut.write(layers[0]!.bytes.subarray(0, 10)))
  await step('abort() of a blob', () => cut.abort())
  if (await step('has()', () => sink.has(layers[0]!.descriptor))) fail('an aborted blob is reported by has()')
  await unchanged(kit, empty, 'abort() of a blob')
  kit.checks.push('an aborted blob leaves nothing')

  for (const l of layers) await writeBlob(kit, sink, l.bytes, l.descriptor, false)
  const committed = await step('commit()', () => sink.commit(image))
  if (committed?.digest !== image.root.digest)
    fail(`commit() returned digest \`${committed?.digest}\`, the image's is \`${image.root.digest}\``)
  if (typeof committed.ref !== 'string' || !committed.ref) fail('commit() returned no `ref`')
  kit.checks.push('commit() returns the image digest')
  for (const d of [...layers.map((l) => l.descriptor), ...image.documents.map((doc) => doc.descriptor)]) {
    if (!(await step('has()', () => sink.has(d)))) fail(`after commit, has() does not see \`${d.digest}\` (${d.mediaType})`)
  }
  kit.checks.push('has() sees every layer and document after commit')
  await opts.inspect?.(image, committed)
}

/** The same image again, from a new instance: it has every blob and commits the same digest. */
async function reRun(kit: Kit, { image, layers }: KitImage): Promise<void> {
  const again = await kit.create()
  await kit.step('prepare() on a re-run', async () => again.prepare?.())
  const held = await heldLayersOf(again, kit.step, 'after a commit', kit.fail)
  if (held) {
    checkHeldCommitted(held, image, kit.fail)
    kit.checks.push(HELD_COMMITTED_CHECK)
  }
  for (const l of layers)
    if (!(await kit.step('has() on a re-run', () => again.has(l.descriptor))))
      kit.fail('a second instance does not see the blobs the first one committed')
  const second = await kit.step('commit() on a re-run', () => again.commit(image))
  if (second.digest !== image.root.digest) kit.fail(`a re-run commits \`${second.digest}\`, the first run \`${image.root.digest}\``)
  kit.checks.push('a re-run sees the blobs and commits the same digest')
}

/** An image one of whose layers was never written: commit() must refuse it, and abort() leave nothing. */
async function refusedCommit(kit: Kit, small: KitImage): Promise<void> {
  const lost = await kitLayer('models/never-written.bin', randomBytes(4096))
  const { image } = await kitImage([...small.layers, lost])
  const before = await kit.list()
  const sink = await kit.create()
  await kit.step('prepare() after a commit', async () => sink.prepare?.())
  const answer = await kit.step('commit() of an image with a layer never written', () =>
    sink.commit(image).then(
      (r) => r,
      (err: unknown) => ({ refused: err }),
    ),
  )
  if (!('refused' in answer))
    kit.fail(
      `commit() accepted an image whose layer \`${lost.descriptor.digest}\` was never written: it must refuse an image whose blobs it does not hold (the engine relies on it)`,
    )
  await kit.step('abort() after a refused commit', async () => sink.abort?.())
  await unchanged(kit, before, 'a refused commit and abort()')
  kit.checks.push('commit() refuses an image whose layer was never written')
}

/**
 * A run that fails after prepare(), as the engine ends one: its open writers aborted, then the
 * sink's abort(). Nothing of it stays; what an earlier run committed does.
 */
async function failedRun(kit: Kit, { layers }: KitImage): Promise<void> {
  const { step, fail } = kit
  const before = await kit.list()
  const failed = await kit.create()
  await step('prepare() of a run that fails', async () => failed.prepare?.())
  const done = randomBytes(2048)
  const doneDesc: Descriptor = { mediaType: layers[0]!.descriptor.mediaType, digest: sha256Digest(done), size: done.length }
  await writeBlob(kit, failed, done, doneDesc, true)
  const orphan = randomBytes(2048)
  const orphanDesc: Descriptor = { mediaType: layers[0]!.descriptor.mediaType, digest: sha256Digest(orphan), size: orphan.length }
  const open = await step('openBlob()', () => failed.openBlob({ mediaType: orphanDesc.mediaType, verify: true, attempt: 1 }))
  await step('write()', () => open.write(orphan.subarray(0, 1024)))
  await step('abort() of a blob', () => open.abort())
  await step('abort() of a run', async () => failed.abort?.())
  const after = await kit.create()
  if (await step('has()', () => after.has(orphanDesc))) fail('after abort(), the blob that was being written is there')
  if (!(await step('has()', () => after.has(layers[0]!.descriptor)))) fail('abort() of a later run removed a blob of the committed image')
  await unchanged(kit, before, 'abort() of a run')
  kit.checks.push('abort() leaves nothing of the failed run and keeps what was committed')
}

/**
 * A blob streamed as the engine streams it: in pieces, committed, streamed once more with its
 * digest and size known when commit() answers `{ streamAgain }`, aborted when commit() refuses it.
 * Resolves to the refusal, if any; a failure elsewhere fails the kit.
 */
async function streamBlob(kit: Kit, sink: SinkInstance, bytes: Uint8Array, desc: Descriptor, verify: boolean): Promise<unknown> {
  for (let attempt = 1; ; attempt++) {
    const known = verify || attempt > 1 ? { digest: desc.digest, size: desc.size } : {}
    const hint: BlobHint = { mediaType: desc.mediaType, verify, attempt, ...known }
    const writer = await kit.step('openBlob()', () => sink.openBlob(hint))
    for (let i = 0; i < bytes.length; i += 4096) await kit.step('write()', () => writer.write(bytes.subarray(i, i + 4096)))
    const outcome = await kit.step('commit() of a blob', () =>
      writer.commit({ digest: desc.digest, size: desc.size }).then(
        (answer) => ({ answer }),
        (refused: unknown) => ({ refused }),
      ),
    )
    if ('refused' in outcome) {
      await kit.step('abort() of a refused blob', () => writer.abort())
      return outcome.refused ?? new Error('(commit() threw undefined)')
    }
    const { answer } = outcome
    if (!answer || !('streamAgain' in answer)) return undefined
    if (attempt > MAX_STREAM_AGAIN)
      kit.fail(
        `commit() of \`${desc.digest}\` asked for the blob again ${attempt} times (${answer.streamAgain}); the engine gives up after ${MAX_STREAM_AGAIN}: once its digest and size are known (hint.digest, hint.size), take it`,
      )
    if (!kit.checks.includes(STREAM_AGAIN_CHECK)) kit.checks.push(STREAM_AGAIN_CHECK)
  }
}

/** Writes a blob the sink must take. */
async function writeBlob(kit: Kit, sink: SinkInstance, bytes: Uint8Array, desc: Descriptor, verify: boolean): Promise<void> {
  const refused = await streamBlob(kit, sink, bytes, desc, verify)
  if (refused !== undefined)
    kit.fail(`commit() of blob \`${desc.digest}\` refused the right bytes: ${(refused as Error)?.message ?? String(refused)}`)
}

const STREAM_AGAIN_CHECK = 'a blob is taken once streamed again on { streamAgain }'
