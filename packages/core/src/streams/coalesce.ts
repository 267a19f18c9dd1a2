// Gathers small chunks (an HTTP body arrives in pieces of 16–64 KiB) into blocks of about
// `bytes`, so every sink writes big blocks: one write per MiB instead of one per 64 KiB.

export async function* coalesce(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, bytes = 1 << 20): AsyncGenerator<Uint8Array> {
  let parts: Uint8Array[] = []
  let held = 0
  const take = () => {
    const block = parts.length === 1 ? parts[0]! : Buffer.concat(parts, held)
    parts = []
    held = 0
    return block
  }
  try {
    for await (const chunk of chunks) {
      if (held === 0 && chunk.byteLength >= bytes) {
        yield chunk
        continue
      }
      parts.push(chunk)
      held += chunk.byteLength
      if (held >= bytes) yield take()
    }
  } catch (err) {
    // A body cut mid-block: hand on what did arrive before the error, so a resumed read starts
    // at the byte the connection broke, not at the last block boundary.
    if (held > 0) yield take()
    throw err
  }
  if (held > 0) yield take()
}
