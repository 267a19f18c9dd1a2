// Gathers small chunks (an HTTP body arrives in pieces of 16–64 KiB) into blocks of about
// `bytes`, so every sink writes big blocks: one write per MiB instead of one per 64 KiB.

export async function* coalesce(chunks: AsyncIterable<Uint8Array>, bytes = 1 << 20): AsyncGenerator<Uint8Array> {
  let parts: Uint8Array[] = []
  let held = 0
  for await (const chunk of chunks) {
    if (held === 0 && chunk.byteLength >= bytes) {
      yield chunk
      continue
    }
    parts.push(chunk)
    held += chunk.byteLength
    if (held >= bytes) {
      yield Buffer.concat(parts, held)
      parts = []
      held = 0
    }
  }
  if (held > 0) yield parts.length === 1 ? parts[0]! : Buffer.concat(parts, held)
}
