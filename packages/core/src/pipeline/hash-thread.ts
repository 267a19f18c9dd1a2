// sha256 of a large stream on another thread. A file whose digest the source announces (a Hub
// LFS oid) is hashed twice — its content, then the layer around it — and one thread cannot do
// both at the speed of a fast network. Each chunk is copied into a block that travels to the
// thread and back; at most a few are in flight, so memory stays bounded.
import { Worker } from 'node:worker_threads'

const MAX_IN_FLIGHT = 2

const WORKER = `
const { parentPort } = require('node:worker_threads')
const { createHash } = require('node:crypto')
const hashes = new Map()
parentPort.on('message', ({ id, op, buf, len }) => {
  if (op === 'update') {
    let h = hashes.get(id)
    if (!h) hashes.set(id, (h = createHash('sha256')))
    h.update(new Uint8Array(buf, 0, len))
    parentPort.postMessage({ id, op: 'ack', buf }, [buf]) // back to the sender, for the next block
  } else {
    const h = hashes.get(id)
    hashes.delete(id)
    if (op === 'digest') parentPort.postMessage({ id, op: 'digest', hex: (h ?? createHash('sha256')).digest('hex') })
  }
})
`

/** Blocks are reused (sent back with each ack): no allocation per chunk, memory fixed per stream. */
const BLOCK_BYTES = (1 << 20) + (256 << 10)

interface Stream {
  free: ArrayBuffer[]
  inFlight: number
  wake: (() => void) | undefined
  done: ((hex: string) => void) | undefined
}

let worker: Worker | undefined
const streams = new Map<number, Stream>()
let nextId = 0

function thread(): Worker {
  if (!worker) {
    worker = new Worker(WORKER, { eval: true, resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 16 } })
    worker.on('message', (m: { id: number; op: 'ack' | 'digest'; hex?: string; buf?: ArrayBuffer }) => {
      const s = streams.get(m.id)
      if (!s) return
      if (m.op === 'ack') {
        if (m.buf && m.buf.byteLength === BLOCK_BYTES) s.free.push(m.buf)
        s.inFlight--
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
  const s: Stream = { free: [], inFlight: 0, wake: undefined, done: undefined }
  streams.set(id, s)
  let open = true
  const close = () => {
    if (!open) return
    open = false
    w.postMessage({ id, op: 'drop' })
    forget(id)
  }
  return {
    async update(chunk) {
      while (s.inFlight >= MAX_IN_FLIGHT) await new Promise<void>((r) => (s.wake = r))
      // A copy in a block owned by nobody else, so it can be transferred (the chunk itself goes
      // on to the layer encoder).
      const buf = chunk.byteLength <= BLOCK_BYTES ? s.free.pop() ?? new ArrayBuffer(BLOCK_BYTES) : new ArrayBuffer(chunk.byteLength)
      new Uint8Array(buf, 0, chunk.byteLength).set(chunk)
      s.inFlight++
      w.postMessage({ id, op: 'update', buf, len: chunk.byteLength }, [buf])
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
