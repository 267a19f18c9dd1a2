// The local record of layers written before: metadata only (keys, digest, size, diff_id, the
// content digest of each file), never a model byte, one JSON line per layer in
// `<cache dir>/layers-v1.jsonl`. Appended as soon as a layer is committed, so a run that is
// killed half-way leaves a record of what it finished; read whole at the start of the next run.
// Appends of one short line are atomic, so shards running at once may share it. A record that
// cannot be read or written costs reuse, never the run.
import fs from 'node:fs/promises'
import path from 'node:path'

const FILE = 'layers-v1.jsonl'

export interface RecordedLayer {
  /** The keys a planned layer is looked up by (layerKeys). */
  keys: string[]
  mediaType: string
  digest: string
  size: number
  diffId: string
  /** Each file's content digest, where it was known or computed: the annotations of a reused layer need it. */
  files: { target: string; digest?: string }[]
}

export class LayerRecord {
  private readonly byKey = new Map<string, RecordedLayer>()
  private writable = true

  private constructor(
    readonly file: string,
    private readonly warn: (message: string) => void,
  ) {}

  /** The record in `dir`; an unreadable one is empty (with a warning), a missing one is new. */
  static async open(dir: string, warn: (message: string) => void): Promise<LayerRecord> {
    const record = new LayerRecord(path.join(dir, FILE), warn)
    let text = ''
    try {
      text = await fs.readFile(record.file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        warn(`the layer record \`${record.file}\` cannot be read (${(err as Error).message}); every file is read`)
    }
    for (const line of text.split('\n')) {
      const entry = parse(line)
      if (entry) for (const key of entry.keys) record.byKey.set(key, entry)
    }
    return record
  }

  /** The latest layer recorded under any of `keys`. */
  find(keys: readonly string[]): RecordedLayer | undefined {
    for (const key of keys) {
      const hit = this.byKey.get(key)
      if (hit) return hit
    }
    return undefined
  }

  async add(entry: RecordedLayer): Promise<void> {
    for (const key of entry.keys) this.byKey.set(key, entry)
    if (!this.writable) return
    try {
      await fs.mkdir(path.dirname(this.file), { recursive: true })
      await fs.appendFile(this.file, `${JSON.stringify(entry)}\n`)
    } catch (err) {
      this.writable = false
      this.warn(
        `the layer record \`${this.file}\` cannot be written (${(err as Error).message}); this run's layers will be read again next time`,
      )
    }
  }
}

function parse(line: string): RecordedLayer | undefined {
  if (!line.trim()) return undefined
  try {
    const e = JSON.parse(line) as RecordedLayer
    const ok =
      Array.isArray(e.keys) &&
      typeof e.digest === 'string' &&
      typeof e.diffId === 'string' &&
      typeof e.mediaType === 'string' &&
      Number.isSafeInteger(e.size) &&
      Array.isArray(e.files)
    return ok ? e : undefined
  } catch {
    // A line cut by a crash mid-write: the layers before it still count.
    return undefined
  }
}
