// sha256 of a large stream on another thread. A file whose digest the source announces (a Hub
// LFS oid) is hashed twice — its content, then the layer around it — and one thread cannot do
// both at the speed of a fast network. Each stream owns a little shared memory (two blocks):
// chunks are copied into a free block until it is full, and the thread is told which one; it
// hashes the block in place and hands it back. Messages stay tiny and few (one per block, not per
// 64 KiB chunk): transferring buffers instead cost more than the copy (measured: postMessage with
// a transferred 1.25 MiB buffer ≈ 0.8 ms, 0.65 s per GiB).
import { Worker } from 'node:worker_threads'

/** Block size: small chunks are gathered into a block, bigger ones hashed in pieces. */
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
  // The block being filled, and how many bytes it holds.
  let filling: number | undefined
  let filled = 0
  const send = () => {
    w.postMessage({ id, op: 'update', slot: filling, len: filled })
    filling = undefined
    filled = 0
  }
  return {
    async update(chunk) {
      for (let at = 0; at < chunk.byteLength;) {
        if (filling === undefined) {
          while (s.free.length === 0) await new Promise<void>((r) => (s.wake = r))
          filling = s.free.pop()!
        }
        const n = Math.min(chunk.byteLength - at, BLOCK_BYTES - filled)
        new Uint8Array(shared, filling * BLOCK_BYTES + filled, n).set(chunk.subarray(at, at + n))
        filled += n
        at += n
        if (filled === BLOCK_BYTES) send()
      }
    },
    async digest() {
      if (filling !== undefined) send()
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
