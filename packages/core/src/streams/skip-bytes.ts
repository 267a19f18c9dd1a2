// A server that ignores a Range request sends the whole file; a resumed read then drops the bytes
// it already has. Shared by every source that resumes with Range (Hub, S3, plugins).

/** The stream without its first `bytes` bytes. */
export async function* skipBytes(body: AsyncIterable<Uint8Array>, bytes: number): AsyncGenerator<Uint8Array> {
  let left = bytes
  for await (const chunk of body) {
    if (left >= chunk.byteLength) {
      left -= chunk.byteLength
      continue
    }
    yield left > 0 ? chunk.subarray(left) : chunk
    left = 0
  }
}
