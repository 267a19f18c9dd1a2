// An OCI image layout on disk (oci-layout, index.json, blobs/sha256/…), read and written so that
// it is valid at every instant and holds nothing a failed run left: a new blob is written under a
// temporary name, staged (synced, under its digest, still outside blobs/) once its digest is
// checked, published into blobs/ only when the run commits, and dropped when it fails;
// index.json is replaced last, atomically.
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, readlinkSync } from 'node:fs'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { errors } from '../errors/index.js'
import { digestHex, encodeJson, isDigest, sha256Digest } from '../oci/digest.js'
import type { BlobWriter } from '../contract/blob.js'
import type { Descriptor, ImageIndex } from '../oci/types.js'
import { MediaType } from '../oci/media-types.js'

const LAYOUT_FILE = { imageLayoutVersion: '1.0.0' }
/** Temporary files live beside the blobs (same filesystem, so rename is atomic) in their own folder. */
const TMP_DIR = '.modelcar-tmp'
/**
 * Leftovers of a crashed run older than this are removed by the next writer; sooner when the
 * writer that left them ran where this one runs and its process is gone (see leftByGoneWriter).
 */
const STALE_TMP_MS = 60 * 60 * 1000
/**
 * Where this process runs: the host and, on Linux, the pid namespace (a container on the same
 * host counts its processes apart). A temporary file is named `<pid>@<place>-<random>`.
 */
const PLACE = `${os.hostname()}${pidNamespace()}`.replace(/[^\w.:-]/g, '_')
/**
 * Staged blobs (complete, synced, checked) of a run that was killed live this long: a run of the
 * same recipe started again within it takes them instead of writing them again (resume).
 */
const STALE_STAGED_MS = 24 * 60 * 60 * 1000
const STAGED_PREFIX = 'staged-'
/**
 * A blob being written starts its write-back every this many bytes (a datasync, one in flight),
 * so the disk works while the layer is encoded: the kernel itself would wait until 10% of RAM is
 * dirty, and the final datasync would then write the whole blob with the pipeline stopped.
 */
const WRITEBACK_EVERY = 64 << 20

export class ImageLayout {
  readonly root: string
  /** Committed blobs on their way to the staging folder (datasync, then rename). */
  private landing: Promise<void>[] = []
  /** Blobs staged by this writer and not yet published, by digest. */
  private readonly staged = new Set<string>()

  constructor(root: string) {
    this.root = path.resolve(root)
  }

  blobPath(digest: string): string {
    if (!isDigest(digest)) throw errors.layoutInvalid(this.root, `bad digest \`${digest}\``)
    return path.join(this.root, 'blobs', 'sha256', digestHex(digest))
  }

  async exists(): Promise<boolean> {
    try {
      await fs.access(path.join(this.root, 'index.json'))
      return true
    } catch {
      return false
    }
  }

  async readIndex(): Promise<ImageIndex> {
    let text: string
    try {
      text = await fs.readFile(path.join(this.root, 'index.json'), 'utf8')
    } catch (err) {
      throw errors.layoutInvalid(this.root, 'it has no index.json', 'create one with `skopeo copy … oci:PATH:TAG`, or use `base: scratch`')
    }
    let index: ImageIndex
    try {
      index = JSON.parse(text) as ImageIndex
    } catch (err) {
      throw errors.layoutInvalid(this.root, `index.json is not JSON (${(err as Error).message})`)
    }
    if (!index || typeof index !== 'object' || !Array.isArray(index.manifests)) {
      throw errors.layoutInvalid(this.root, 'index.json has no `manifests` list')
    }
    return index
  }

  /** Reads a small blob (manifest, config, index) whole and checks its digest. */
  async readBlob(desc: Pick<Descriptor, 'digest'> & { size?: number }): Promise<Uint8Array> {
    let bytes: Buffer
    try {
      bytes = await fs.readFile(this.blobPath(desc.digest))
    } catch {
      throw errors.blobMissing(desc.digest, `the image layout \`${this.root}\``)
    }
    const actual = sha256Digest(bytes)
    if (actual !== desc.digest) throw errors.blobDigestMismatch(`\`${this.root}\``, desc.digest, actual)
    return bytes
  }

  /**
   * Streams a blob (a layer); the reader checks nothing, callers hash what they copy. In 64 KiB
   * reads: each read is a fresh buffer, and 1 MiB ones piled up as garbage faster than V8
   * collected it (pushing a 2 GiB layout: peak RSS 136–162 → 129–145 MB, less CPU).
   */
  openBlob(digest: string, start = 0): AsyncIterable<Uint8Array> {
    return createReadStream(this.blobPath(digest), { start, highWaterMark: 64 << 10 })
  }

  /**
   * True when the blob is there with the expected size (a full re-hash of large blobs is not
   * worth it): published, staged by this writer, or staged by a run that was killed.
   */
  async hasBlob(desc: Pick<Descriptor, 'digest' | 'size'>): Promise<boolean> {
    if (await isFileOfSize(this.staged.has(desc.digest) ? this.stagedPath(desc.digest) : this.blobPath(desc.digest), desc.size)) return true
    // Staged by a run that was killed before it committed: complete and checked, so this run
    // takes it (and publishes it with its own blobs) instead of writing it again.
    if (!this.staged.has(desc.digest) && (await isFileOfSize(this.stagedPath(desc.digest), desc.size))) {
      this.staged.add(desc.digest)
      return true
    }
    return false
  }

  /** Creates oci-layout and blobs/sha256 if needed; clears stale temporary files. */
  async prepare(): Promise<void> {
    await fs.mkdir(path.join(this.root, 'blobs', 'sha256'), { recursive: true })
    await fs.mkdir(path.join(this.root, TMP_DIR), { recursive: true })
    const layoutFile = path.join(this.root, 'oci-layout')
    try {
      await fs.access(layoutFile)
    } catch {
      await this.writeFileAtomic(layoutFile, encodeJson(LAYOUT_FILE))
    }
    const tmp = path.join(this.root, TMP_DIR)
    const now = Date.now()
    for (const name of await fs.readdir(tmp)) {
      const st = await fs.stat(path.join(tmp, name)).catch(() => undefined)
      const lifetime = name.startsWith(STAGED_PREFIX) ? STALE_STAGED_MS : STALE_TMP_MS
      if (st && (now - st.mtimeMs > lifetime || leftByGoneWriter(name))) await fs.rm(path.join(tmp, name), { force: true })
    }
  }

  /** Removes the temporary folder when nothing is left in it. */
  async tidy(): Promise<void> {
    await fs.rmdir(path.join(this.root, TMP_DIR)).catch(() => {})
  }

  /**
   * A new temporary file's path. The folder is made again if needed: another writer of the same
   * layout (a second sink, another tag) may have tidied it away after its own commit.
   */
  private async tmpPath(): Promise<string> {
    await fs.mkdir(path.join(this.root, TMP_DIR), { recursive: true })
    return path.join(this.root, TMP_DIR, `${process.pid}@${PLACE}-${randomBytes(6).toString('hex')}`)
  }

  /**
   * A blob written as a stream. With `verify` (the default) its digest is computed here and checked
   * on commit; without it only the size is checked — for bytes whose digest the caller computed
   * from the very chunks it wrote (the layer encoder), so hashing twice would prove nothing.
   */
  async createBlobWriter(opts: { verify?: boolean } = {}): Promise<BlobWriter> {
    const verify = opts.verify ?? true
    const tmp = await this.tmpPath()
    const handle = await fs.open(tmp, 'w')
    const hash = createHash('sha256')
    let size = 0
    let unsynced = 0
    let syncing: Promise<void> | undefined
    let committed = false
    let closed = false
    const close = async () => {
      if (!closed) {
        closed = true
        await handle.close()
      }
    }
    return {
      write: async (chunk) => {
        if (verify) hash.update(chunk)
        size += chunk.byteLength
        unsynced += chunk.byteLength
        if (unsynced >= WRITEBACK_EVERY && !syncing) {
          unsynced = 0
          syncing = handle.datasync().finally(() => {
            syncing = undefined
          })
          syncing.catch(() => {}) // awaited by commit and abort
        }
        let off = 0
        while (off < chunk.byteLength) {
          const { bytesWritten } = await handle.write(chunk, off, chunk.byteLength - off)
          off += bytesWritten
        }
      },
      commit: async (expected) => {
        const actual = verify ? `sha256:${hash.digest('hex')}` : expected.digest
        if (actual !== expected.digest || size !== expected.size) {
          await syncing?.catch(() => {})
          await close().catch(() => {})
          await fs.rm(tmp, { force: true })
          throw errors.blobDigestMismatch(
            'a stream written to the layout',
            `${expected.digest} (${expected.size} bytes)`,
            `${actual} (${size} bytes)`,
          )
        }
        committed = true
        const target = this.stagedPath(expected.digest)
        // The rename follows the datasync: a blob is never under its digest before its bytes are
        // on disk. And commit resolves only once the blob is staged: the engine records a layer
        // (for a run killed later to resume from) as soon as its sinks have committed it.
        const landing = (async () => {
          try {
            await syncing
            await handle.datasync()
            await close()
            await fs.rename(tmp, target)
            this.staged.add(expected.digest)
          } catch (err) {
            await close().catch(() => {})
            await fs.rm(tmp, { force: true })
            throw err
          }
        })()
        landing.catch(() => {}) // reported by publish() too
        this.landing.push(landing)
        await landing
      },
      abort: async () => {
        if (committed) return // landing on its own; publish() or discard() deals with it
        await syncing?.catch(() => {})
        await close().catch(() => {})
        await fs.rm(tmp, { force: true })
      },
    }
  }

  private stagedPath(digest: string): string {
    return path.join(this.root, TMP_DIR, `${STAGED_PREFIX}${digestHex(digest)}`)
  }

  /** Waits until every committed blob is staged; throws the first failure. */
  private async landed(): Promise<void> {
    const landing = this.landing
    this.landing = []
    const failed = (await Promise.allSettled(landing)).find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed) throw failed.reason
  }

  /** Moves every staged blob into blobs/ (after their bytes are on disk): the run is committing. */
  async publish(): Promise<void> {
    await this.landed()
    for (const digest of this.staged) {
      try {
        await fs.rename(this.stagedPath(digest), this.blobPath(digest))
      } catch (err) {
        // Another writer of this layout (a second sink on it) staged the same blob and published
        // it first: it is there already.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !(await fs.stat(this.blobPath(digest)).catch(() => undefined))) throw err
      }
    }
    if (this.staged.size > 0) await this.syncDir(path.join(this.root, 'blobs', 'sha256'))
    this.staged.clear()
  }

  /** Drops every blob staged by this writer: the run failed, and the layout stays as it was. */
  async discard(): Promise<void> {
    await this.landed().catch(() => {})
    for (const digest of this.staged) await fs.rm(this.stagedPath(digest), { force: true })
    this.staged.clear()
  }

  /** Writes a small blob (JSON document) if it is not there yet. */
  async putBlob(bytes: Uint8Array): Promise<Descriptor['digest']> {
    const digest = sha256Digest(bytes)
    if (await this.hasBlob({ digest, size: bytes.byteLength })) return digest
    await this.writeFileAtomic(this.blobPath(digest), bytes)
    return digest
  }

  /** Replaces index.json atomically: this is the commit point of every change to the layout. */
  async writeIndex(index: ImageIndex): Promise<void> {
    await this.writeFileAtomic(path.join(this.root, 'index.json'), encodeJson(index))
    await this.syncDir(this.root)
  }

  private async writeFileAtomic(target: string, bytes: Uint8Array): Promise<void> {
    const tmp = await this.tmpPath()
    const handle = await fs.open(tmp, 'w')
    try {
      await handle.writeFile(bytes)
      await handle.datasync()
    } finally {
      await handle.close()
    }
    try {
      await fs.rename(tmp, target)
    } catch (err) {
      await fs.rm(tmp, { force: true })
      throw err
    }
  }

  private async syncDir(dir: string): Promise<void> {
    const handle = await fs.open(dir, 'r')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  }
}

/**
 * Whether a temporary file is a half-written blob of a writer that ran here and was killed (its
 * process is gone): nobody will finish it, so the next writer removes it at once rather than in an
 * hour. A writer elsewhere (another host, another container) is never judged from here.
 */
function leftByGoneWriter(name: string): boolean {
  const m = /^(\d+)@(.+)-[0-9a-f]{12}$/.exec(name)
  if (!m || m[2] !== PLACE || Number(m[1]) === process.pid) return false
  try {
    process.kill(Number(m[1]), 0)
    return false
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH'
  }
}

function pidNamespace(): string {
  try {
    return `~${/\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? ''}`
  } catch {
    return ''
  }
}

async function isFileOfSize(file: string, size: number): Promise<boolean> {
  try {
    const st = await fs.stat(file)
    return st.isFile() && st.size === size
  } catch {
    return false
  }
}

export function emptyIndex(): ImageIndex {
  return { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] }
}
