// One new layer, from its sources through the encoder to every sink at once. A sink whose upload
// failed in a way worth retrying (a cut connection, a 503), or that asked for the bytes again
// (StreamAgain: it needs the digest up front, or did not hold the layer it expected to), gets the
// layer streamed again from the source, for it alone: the encoder is deterministic, and the
// digest of each new pass is checked against the first's. Pass n is attempt n for every sink in it.
import type { SinkInstance } from '../contract/component.js'
import type { BlobWriter } from '../contract/blob.js'
import type { RunEvent } from '../contract/events.js'
import type { PlannedLayer } from '../contract/plan.js'
import { errors } from '../errors/core-errors.js'
import { DEFAULT_RETRY_POLICY, retryDelayMs, sleep } from '../http/retry-policy.js'
import { isRetryable } from '../http/retryable.js'
import {
  encodeLayer,
  encodeRawLayer,
  mediaTypeFor,
  RAW_LAYER_MEDIA_TYPE,
  type EncodedLayer,
  type LayerFileEntry,
} from '../layer/layer-encoder.js'
import type { Descriptor } from '../oci/types.js'
import { titleOf } from './layer-history.js'
import { guard, type Created } from './run-context.js'

/** Times a sink may ask for a blob again (StreamAgain) before that is an error: a sink that always asks would loop. */
const MAX_STREAM_AGAIN = 2

export interface LayerJob {
  layer: PlannedLayer
  index: number
  prefix: string
  mtime: number
  sinks: Created<SinkInstance>[]
  signal: AbortSignal
  emit: (e: RunEvent) => void
  /** The layer's file entries for the encoder; `onBytes` counts what the sources gave. */
  entries: LayerFileEntry[]
  bytesRead: () => number
  resetBytes: () => void
  /** The layer's digest and size when known before it is encoded (recorded by an earlier run): given to the sinks up front, and checked. */
  known?: { digest: string; size: number }
  /** Called once every sink has committed the layer, before `layer-done` is sent (the engine records it there). */
  onWritten?: (written: Written) => Promise<void>
}

export interface Written {
  descriptor: Descriptor
  diffId: string
}

type Pending = { sink: Created<SinkInstance>; failures: number; again: number; reason?: unknown }

export async function writeLayer(job: LayerJob): Promise<Written> {
  const title = titleOf(job.layer, job.prefix)
  let pending: Pending[] = job.sinks.map((sink) => ({ sink, failures: 0, again: 0 }))
  let first: EncodedLayer | undefined
  for (let pass = 1; pass === 1 || pending.length > 0; pass++) {
    if (pass > 1) job.resetBytes()
    const outcome = await streamPass(job, pending, pass, first)
    if (first && outcome.result && outcome.result.digest !== first.digest) {
      throw errors.planInvalid(
        `layer ${title} encoded to \`${outcome.result.digest}\` on a second pass but \`${first.digest}\` on the first`,
        'a source changed its bytes between two reads',
      )
    }
    if (job.known && outcome.result && outcome.result.digest !== job.known.digest) {
      throw errors.planInvalid(
        `layer ${title} encoded to \`${outcome.result.digest}\`, but an earlier run recorded \`${job.known.digest}\` for the same files`,
        'a source named its content the same way (digest, identity or fingerprint) while its bytes changed; run with `--no-cache` (and a fresh target) to write everything again',
      )
    }
    first ??= outcome.result
    for (const p of outcome.again)
      job.emit({
        type: 'log',
        level: 'info',
        component: p.sink.type,
        message: `${title} → ${p.sink.instance.target}: streaming it again (${String(p.reason)})`,
      })
    for (const p of outcome.failed) {
      job.emit({
        type: 'retry',
        what: `${title} → ${p.sink.instance.target}`,
        attempt: pass,
        reason: p.reason instanceof Error ? p.reason.message : String(p.reason),
      })
    }
    pending = [...outcome.again, ...outcome.failed]
    if (outcome.failed.length > 0) await sleep(Math.max(...outcome.failed.map((p) => retryDelayMs(p.failures, p.reason))), job.signal)
  }
  const result = first!
  const written = { descriptor: { mediaType: result.mediaType, digest: result.digest, size: result.size }, diffId: result.diffId }
  await job.onWritten?.(written)
  job.emit({ type: 'layer-progress', layer: job.index, bytes: job.bytesRead() })
  job.emit({ type: 'layer-done', layer: job.index, digest: result.digest, size: result.size })
  return written
}

type Live = { p: Pending; writer: BlobWriter }

/** One stream of the layer to the sinks still waiting for it. */
async function streamPass(
  job: LayerJob,
  pending: Pending[],
  pass: number,
  first: EncodedLayer | undefined,
): Promise<{ result: EncodedLayer | undefined; failed: Pending[]; again: Pending[] }> {
  const failed: Pending[] = []
  const again: Pending[] = []
  const live: Live[] = []
  const fail = async (w: Live, err: unknown) => {
    await w.writer.abort().catch(() => {})
    live.splice(live.indexOf(w), 1)
    const failures = w.p.failures + 1
    if (!isRetryable(err) || failures >= DEFAULT_RETRY_POLICY.attempts || job.signal.aborted)
      throw errors.componentFailed(w.p.sink.type, 'write', err)
    failed.push({ ...w.p, failures, reason: err })
  }
  try {
    const hint = {
      mediaType: job.layer.raw ? RAW_LAYER_MEDIA_TYPE : mediaTypeFor(job.layer.compression),
      verify: false,
      annotations: job.layer.annotations,
      attempt: pass,
      ...(first ? { digest: first.digest, size: first.size } : job.known ? { digest: job.known.digest, size: job.known.size } : {}),
    }
    for (const p of pending) live.push({ p, writer: await guard(p.sink.type, 'write', () => p.sink.instance.openBlob(hint)) })
    const enc = job.layer.raw
      ? encodeRawLayer(job.entries)
      : encodeLayer(job.entries, { compression: job.layer.compression, mtime: job.mtime })
    for await (const chunk of enc.chunks) {
      if (job.signal.aborted) throw errors.aborted(job.signal.reason)
      await Promise.all([...live].map((w) => w.writer.write(chunk).catch((err: unknown) => fail(w, err))))
      // Nobody left to write to: stop reading the source; the failed sinks get another pass.
      if (live.length === 0) return { result: undefined, failed, again }
    }
    const result = await enc.result
    await Promise.all(
      [...live].map(async (w) => {
        const answer = await w.writer.commit(result).catch((err: unknown) => fail(w, err))
        if (!answer || !('streamAgain' in answer)) return
        if (w.p.again >= MAX_STREAM_AGAIN)
          throw errors.componentFailed(
            w.p.sink.type,
            'write',
            new Error(`asked for \`${result.digest}\` again ${w.p.again + 1} times: ${answer.streamAgain}`),
          )
        again.push({ ...w.p, again: w.p.again + 1, reason: answer.streamAgain })
      }),
    )
    return { result, failed, again }
  } catch (err) {
    await Promise.all(live.map((w) => w.writer.abort().catch(() => {})))
    throw err
  }
}
