// An artifact in an OCI image layout on this machine (`oci-layout:PATH[:TAG]`): the tagged entry
// of index.json (or the only one), documents read whole and checked, layer bytes read at any
// offset with positional reads (a tar's headers are found without reading its files).
import { createReadStream } from 'node:fs'
import fs from 'node:fs/promises'
import { errors, FILE_READ_BYTES, ImageLayout, selectRoot, type Descriptor } from '@modelcar/core'
import { nothing, type BlobStore } from './blob-store.js'

export function layoutStore(name: string, root: string, tag: string | undefined): BlobStore {
  const layout = new ImageLayout(root)
  const where = `the image layout \`${layout.root}\``
  /** The blob's path, once it is known to be there with the size its descriptor says. */
  const blobFile = async (desc: Descriptor): Promise<string> => {
    const file = layout.blobPath(desc.digest)
    const st = await fs.stat(file).catch(() => undefined)
    if (!st?.isFile()) throw errors.blobMissing(desc.digest, where)
    if (st.size !== desc.size)
      throw errors.layoutInvalid(layout.root, `blob \`${desc.digest}\` is ${st.size} bytes, its descriptor says ${desc.size}`)
    return file
  }
  return {
    name,
    repository: undefined,
    async root() {
      return selectRoot(layout.root, await layout.readIndex(), tag)
    },
    readDocument: (desc) => layout.readBlob(desc),
    async readRange(desc, start, end) {
      const file = await blobFile(desc)
      const length = Math.max(0, Math.min(end, desc.size) - start)
      const out = Buffer.alloc(length)
      const handle = await fs.open(file, 'r')
      try {
        let got = 0
        while (got < length) {
          const { bytesRead } = await handle.read(out, got, length - got, start + got)
          if (bytesRead === 0) break
          got += bytesRead
        }
        return out.subarray(0, got)
      } finally {
        await handle.close()
      }
    },
    async open(desc, start, end, signal) {
      const file = await blobFile(desc)
      const last = Math.min(end ?? desc.size, desc.size) - 1
      if (start > last) return nothing()
      return createReadStream(file, { start, end: last, highWaterMark: FILE_READ_BYTES, signal })
    },
  }
}
