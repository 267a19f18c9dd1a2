// The local record of what files said (model-facts.ts), by the names of their content (digest,
// identity, fingerprint, as the record of layers names files): a later run that reuses a file's
// layer, and so does not read it, still knows its facts, and writes the same ModelPack config.
// One JSON line per file in `<cache dir>/content-facts-v1.jsonl`, beside the record of layers;
// metadata only. A record that cannot be read or written costs a few bytes read again, never the run.
import fs from 'node:fs/promises'
import path from 'node:path'
import type { ModelFile } from '../contract/model-file.js'
import type { ContentFacts } from './model-facts.js'

const FILE = 'content-facts-v1.jsonl'

interface RecordedFacts {
  keys: string[]
  facts: ContentFacts
}

export class FactsRecord {
  private readonly byKey = new Map<string, ContentFacts>()
  private writable = true

  private constructor(readonly file: string) {}

  /** The record in `dir` (empty when there is none, or it cannot be read). */
  static async open(dir: string): Promise<FactsRecord> {
    const record = new FactsRecord(path.join(dir, FILE))
    const text = await fs.readFile(record.file, 'utf8').catch(() => '')
    for (const line of text.split('\n')) {
      const entry = parse(line)
      if (entry) for (const key of entry.keys) record.byKey.set(key, entry.facts)
    }
    return record
  }

  find(keys: readonly string[]): ContentFacts | undefined {
    for (const key of keys) {
      const hit = this.byKey.get(key)
      if (hit) return hit
    }
    return undefined
  }

  async add(keys: readonly string[], facts: ContentFacts): Promise<void> {
    if (keys.length === 0 || keys.every((k) => this.byKey.has(k))) return
    for (const key of keys) this.byKey.set(key, facts)
    if (!this.writable) return
    try {
      await fs.mkdir(path.dirname(this.file), { recursive: true })
      await fs.appendFile(this.file, `${JSON.stringify({ keys, facts })}\n`)
    } catch {
      this.writable = false
    }
  }
}

/**
 * The keys a file's facts are found under: each name of its content, with the probe's sort (the
 * same bytes say other things as a card than as `config.json`). `digest` is the content digest
 * when the run learnt it while streaming.
 */
export function factKeys(probe: string, file: Pick<ModelFile, 'digest' | 'identity' | 'fingerprint'>, digest?: string): string[] {
  const names = [file.digest ?? digest, file.identity, file.fingerprint].filter((n): n is string => !!n)
  return [...new Set(names)].map((n) => `${probe}|${n}`)
}

function parse(line: string): RecordedFacts | undefined {
  if (!line.trim()) return undefined
  try {
    const e = JSON.parse(line) as RecordedFacts
    return Array.isArray(e.keys) && e.facts && typeof e.facts === 'object' ? e : undefined
  } catch {
    return undefined
  }
}
