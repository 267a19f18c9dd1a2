// Buffers of streamed bytes are memory outside V8's heap, and V8 lets a lot of it pile up as
// garbage before it collects: on Node.js 24, a download read at full speed held 70–100 MB of dead
// buffers at its peak, against 30 MB on Node.js 20. A host that can call the collector (the CLI
// can) installs it here; the engine then asks for a young-generation collection every few MiB it
// streams, while external memory is above a floor. Measured on one 256 MiB download (Node.js 24):
// peak RSS 158 → 101 MB, CPU 0.89 → 0.65 s (less memory to manage). Without a collector, nothing.
import v8 from 'node:v8'

interface Collector {
  gc: (opts: { type: 'minor' }) => void
  everyBytes: number
  floorBytes: number
  since: number
}

let collector: Collector | undefined

/**
 * Lets the engine collect dead buffers as it streams. `gc` is V8's (`--expose-gc`); a library
 * should leave this to the program that hosts it.
 */
export function collectExternalMemory(gc: Collector['gc'], opts: { everyBytes?: number; floorBytes?: number } = {}): void {
  collector = { gc, everyBytes: opts.everyBytes ?? 8 << 20, floorBytes: opts.floorBytes ?? 16 << 20, since: 0 }
}

/** Counts bytes the engine streamed; now and then, a young-generation collection. */
export function noteStreamed(bytes: number): void {
  if (!collector) return
  collector.since += bytes
  if (collector.since < collector.everyBytes) return
  collector.since = 0
  if (v8.getHeapStatistics().external_memory > collector.floorBytes) collector.gc({ type: 'minor' })
}
