// sha256 of a large stream on another thread. A file whose digest the source announces (a Hub
// LFS oid) is hashed twice — its content, then the layer around it — and one thread cannot do
// both at the speed of a fast network. Each stream owns a little shared memory (two blocks): a
// chunk is copied into a free block and the thread is told which one; it hashes the block in
// place and hands it back. Messages stay tiny: transferring buffers instead cost more than the
// copy (measured: postMessage with a transferred 1.25 MiB buffer ≈ 0.8 ms, 0.65 s per GiB).
import { Worker } from 'node:worker_threads'

/** Block size: chunks arrive coalesced to about 1 MiB; bigger ones are hashed in pieces. */
const BLOCK_BYTES = (1 << 20) + (256 << 10)
/** Blocks per stream: one being hashed while the next is filled. */
const SLOTS = 2

const WORKER = `
const { parentPort } = require('node:worker_threads')
const { createHash } = require('node:crypto')
const streams = new Map()
parentPort.on('message', ({ id, op, shared, slot, len }) => {
  if (op === 'open') streams.set(id, { shared, hash: createHash('sha256') })
  else if (op === 'update') {
    // A stream dropped before its last blocks arrived is ignored, never a crash of the thread.
    const s = streams.get(id)
    if (s) s.hash.update(new Uint8Array(s.shared, slot * ${BLOCK_BYTES}, len))
    parentPort.postMessage({ id, op: 'ack', slot })
  } else {
    const s = streams.get(id)
    streams.delete(id)
    if (op === 'digest') parentPort.postMessage({ id, op: 'digest', hex: (s ? s.hash : createHash('sha256')).digest('hex') })
  }
})
`

interface Stream {
  free: number[]
  wake: (() => void) | undefined
  done: ((hex: string) => void) | undefined
}

let worker: Worker | undefined
const streams = new Map<number, Stream>()
let nextId = 0

function thread(): Worker {
  if (!worker) {
    worker = new Worker(WORKER, { eval: true, resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 16 } })
    worker.on('message', (m: { id: number; op: 'ack' | 'digest'; hex?: string; slot?: number }) => {
      const s = streams.get(m.id)
      if (!s) return
      if (m.op === 'ack') {
        s.free.push(m.slot!)
        const wake = s.wake
        s.wake = undefined
        wake?.()
      } else s.done?.(m.hex!)
    })
  }
  return worker
}

/** The thread lives while streams use it: an idle worker would keep the process from exiting. */
function forget(id: number): void {
  streams.delete(id)
  if (streams.size === 0 && worker) {
    void worker.terminate()
    worker = undefined
  }
}

export interface ThreadedSha256 {
  update(chunk: Uint8Array): Promise<void>
  /** `sha256:<hex>`; the stream is finished. */
  digest(): Promise<string>
  /** Forget the stream (it failed); safe to call after digest(). */
  close(): void
}

export function threadedSha256(): ThreadedSha256 {
  const w = thread()
  const id = nextId++
  const shared = new SharedArrayBuffer(SLOTS * BLOCK_BYTES)
  const s: Stream = { free: Array.from({ length: SLOTS }, (_, i) => i), wake: undefined, done: undefined }
  streams.set(id, s)
  w.postMessage({ id, op: 'open', shared })
  let open = true
  const close = () => {
    if (!open) return
    open = false
    w.postMessage({ id, op: 'drop' })
    forget(id)
  }
  return {
    async update(chunk) {
      for (let at = 0; at < chunk.byteLength; at += BLOCK_BYTES) {
        while (s.free.length === 0) await new Promise<void>((r) => (s.wake = r))
        const slot = s.free.pop()!
        const piece = chunk.subarray(at, Math.min(chunk.byteLength, at + BLOCK_BYTES))
        new Uint8Array(shared, slot * BLOCK_BYTES, piece.byteLength).set(piece)
        w.postMessage({ id, op: 'update', slot, len: piece.byteLength })
      }
    },
    async digest() {
      const hex = await new Promise<string>((resolve) => {
        s.done = resolve
        w.postMessage({ id, op: 'digest' })
      })
      open = false
      forget(id)
      return `sha256:${hex}`
    },
    close,
  }
}
