// The base's blobs (its layers, and the configs of artifacts it carries) to every sink that
// lacks them: a sink on the base's own registry mounts them instead (has() then says yes), the
// rest get them streamed from where the base lives, digest checked by the sink.
import type { SinkInstance } from '../contract/component.js'
import type { BaseImage } from '../contract/base.js'
import type { RunEvent } from '../contract/events.js'
import { errors } from '../errors/core-errors.js'
import { DEFAULT_RETRY_POLICY, retryDelayMs, sleep } from '../http/retry-policy.js'
import { isRetryable } from '../http/retryable.js'
import { noteStreamed } from '../streams/external-memory.js'
import type { Descriptor } from '../oci/types.js'
import { mapBounded } from './bounded.js'
import { guard, type Created } from './run-context.js'

export interface BaseCopy {
  base: BaseImage
  blobs: Descriptor[]
  sinks: Created<SinkInstance>[]
  concurrency: number
  emit: (e: RunEvent) => void
  signal: AbortSignal
}

export async function copyBaseBlobs(c: BaseCopy): Promise<void> {
  const jobs: { desc: Descriptor; sink: Created<SinkInstance> }[] = []
  for (const sink of c.sinks) {
    for (const desc of c.blobs)
      if (!(await guard(sink.type, 'write', () => sink.instance.has(desc, c.base.registry)))) jobs.push({ desc, sink })
  }
  // Copies only wait on I/O (no encoding): twice the layer concurrency keeps a registry busy.
  await mapBounded(jobs, c.concurrency * 2, async ({ desc, sink }) => {
    await copyOne(c, desc, sink)
    c.emit({ type: 'blob-copy', digest: desc.digest, size: desc.size, sink: sink.instance.target })
  })
}

async function copyOne(c: BaseCopy, desc: Descriptor, sink: Created<SinkInstance>): Promise<void> {
  if (!c.base.blobs) throw errors.blobMissing(desc.digest, c.base.name)
  let again = 0
  for (let attempt = 1; ; attempt++) {
    const writer = await guard(sink.type, 'write', () =>
      sink.instance.openBlob({ mediaType: desc.mediaType, size: desc.size, digest: desc.digest, verify: true, attempt }),
    )
    try {
      for await (const chunk of c.base.blobs.openBlob(desc)) {
        await writer.write(chunk)
        noteStreamed(chunk.byteLength)
      }
      const answer = await writer.commit(desc)
      if (!answer || !('streamAgain' in answer)) return
      // A sink that changed how it uploads (a registry that refused PATCH) wants the bytes again.
      if (++again > 2)
        throw errors.componentFailed(
          sink.type,
          'write',
          new Error(`asked for base blob \`${desc.digest}\` again ${again} times: ${answer.streamAgain}`),
        )
      attempt--
    } catch (err) {
      await writer.abort().catch(() => {})
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw errors.blobMissing(desc.digest, c.base.name)
      if (!isRetryable(err) || attempt >= DEFAULT_RETRY_POLICY.attempts || c.signal.aborted)
        throw errors.componentFailed(sink.type, 'write', err)
      c.emit({
        type: 'retry',
        what: `${desc.digest} → ${sink.instance.target}`,
        attempt,
        reason: err instanceof Error ? err.message : String(err),
      })
      await sleep(retryDelayMs(attempt, err), c.signal)
    }
  }
}
