// Buffers of streamed bytes are memory outside V8's heap, and V8 lets a lot of it pile up as
// garbage before it collects: on Node.js 24, a download read at full speed held 70–100 MB of dead
// buffers at its peak, against 30 MB on Node.js 20. A host that can call the collector (the CLI
// can) installs it here; the engine then asks for a young-generation collection every few MiB or
// every few dozen chunks it streams, whichever comes first, while external memory is above a
// floor. Measured on one 256 MiB download (Node.js 24): peak RSS 158 → 101 MB, CPU 0.89 → 0.65 s
// (less memory to manage). Without a collector, nothing.
//
// Why both counts: small chunks (an HTTP body's 16–256 KiB) leave their garbage faster than their
// bytes say. Hub → layout, 4 GiB in chunks of 123 KiB on average, Node.js 22: collecting every
// 8 MiB peaked at 127–149 MB, every 4 MiB at 116–120 MB, for less CPU (Node 24: 140 → 130; Node 26:
// 125 → 116). Files read from disk come in FILE_READ_BYTES chunks, where collecting that often cost
// more than it freed (1 MiB chunks, every 1–4 MiB: twice the user CPU). So: every 32 chunks but not
// under 1 MiB, or every 8 MiB.
import v8 from 'node:v8'

/**
 * What one read of a file on disk asks for (local files; blobs of a layout read as model files).
 * Several buffers per layer are in flight between the reader and the sinks (with 4 MiB reads,
 * 50–65 MB of them at a time), and V8 starts a major collection whenever external memory rises
 * 64 MiB above its low since the last one: with large reads, the buffers in flight plus those dead
 * since the last young collection cross that line again and again. Packaging 4 GiB in 8 files with `modelcar add`, Node.js 22: 4 MiB reads gave
 * 224–247 mark-compacts in every run and twice the CPU; 1 MiB reads 18–113 in 8 runs of 12 (user
 * CPU up to 5.1 s, peak RSS 110–119 MB); 512 KiB reads 1 in 14 runs of 16 (7 and 23 in the others;
 * user CPU 3.1–3.5 s, 94–104 MB); 256 KiB the same, for a little more CPU. Node.js 24 and 26 alike.
 */
export const FILE_READ_BYTES = 512 << 10

interface Collector {
  gc: (opts: { type: 'minor' }) => void
  everyBytes: number
  everyChunks: number
  minBytes: number
  floorBytes: number
  since: number
  chunks: number
}

let collector: Collector | undefined

/**
 * Lets the engine collect dead buffers as it streams. `gc` is V8's (`--expose-gc`); a library
 * should leave this to the program that hosts it.
 */
export function collectExternalMemory(
  gc: Collector['gc'],
  opts: { everyBytes?: number; everyChunks?: number; minBytes?: number; floorBytes?: number } = {},
): void {
  collector = {
    gc,
    everyBytes: opts.everyBytes ?? 8 << 20,
    everyChunks: opts.everyChunks ?? 32,
    minBytes: opts.minBytes ?? 1 << 20,
    floorBytes: opts.floorBytes ?? 16 << 20,
    since: 0,
    chunks: 0,
  }
}

/** Counts a chunk the engine streamed; now and then, a young-generation collection. */
export function noteStreamed(bytes: number): void {
  if (!collector) return
  collector.since += bytes
  collector.chunks++
  const due =
    collector.since >= collector.everyBytes || (collector.chunks >= collector.everyChunks && collector.since >= collector.minBytes)
  if (!due) return
  collector.since = 0
  collector.chunks = 0
  if (v8.getHeapStatistics().external_memory > collector.floorBytes) collector.gc({ type: 'minor' })
}
