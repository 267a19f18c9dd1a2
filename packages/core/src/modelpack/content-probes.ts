// Reads what a model's files say (model-facts.ts probes) from the bytes the engine streams
// anyway: a probed file's open() is wrapped so that its first bytes are seen on their way to the
// encoder, and nothing is read a second time. A read resumed at an offset, or the same file
// streamed again to a sink, adds nothing new; a probe is done once it has its bytes.
import type { ModelFile, OpenOptions } from '../contract/model-file.js'
import type { PlannedFile } from '../contract/plan.js'
import { probeFor, type ContentFacts, type ContentProbe } from './model-facts.js'

interface Watch {
  probe: ContentProbe
  head: Uint8Array
  done: boolean
}

export class ContentProbes {
  /** What each probed file said, by target, once its bytes passed. */
  readonly found = new Map<string, ContentFacts>()
  private readonly watches = new Map<string, Watch>()

  /** Whether the file's probe has had its bytes (or there is none): reading more of it tells nothing. */
  settled(target: string): boolean {
    return this.watches.get(target)?.done ?? true
  }

  /** The probe of a planned file, if its bytes tell the config anything. */
  static probeOf(f: PlannedFile): ContentProbe | undefined {
    return probeFor(f.target, f.file.size, f.modelcard === true)
  }

  /** `planned` whose file shows its first bytes to its probe as they stream; the file itself when it has none. */
  watch(planned: PlannedFile): PlannedFile {
    const probe = ContentProbes.probeOf(planned)
    if (!probe) return planned
    const watch: Watch = { probe, head: new Uint8Array(0), done: false }
    this.watches.set(planned.target, watch)
    const file = planned.file
    // Every other field (path, size, digest, identity…) is the file's own, whatever kind of object it is.
    const seen = Object.create(file) as ModelFile
    seen.open = async (opts?: OpenOptions) => this.observe(planned.target, watch, await file.open(opts), opts?.start ?? 0)
    return { ...planned, file: seen }
  }

  private async *observe(
    target: string,
    w: Watch,
    stream: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    start: number,
  ): AsyncGenerator<Uint8Array> {
    let at = start
    for await (const chunk of stream) {
      if (!w.done) this.take(target, w, chunk, at)
      at += chunk.byteLength
      yield chunk
    }
  }

  private take(target: string, w: Watch, chunk: Uint8Array, at: number): void {
    for (;;) {
      const want = w.probe.wants(w.head)
      // Only bytes that continue the head count: a read resumed past it cannot fill a gap.
      if (want === 0 || want <= w.head.byteLength || at > w.head.byteLength || at + chunk.byteLength <= w.head.byteLength) break
      const piece = chunk.subarray(w.head.byteLength - at, Math.min(chunk.byteLength, want - at))
      const head = new Uint8Array(w.head.byteLength + piece.byteLength)
      head.set(w.head)
      head.set(piece, w.head.byteLength)
      w.head = head
    }
    const want = w.probe.wants(w.head)
    if (want === 0 || want <= w.head.byteLength) {
      w.done = true
      const facts = want === 0 ? undefined : w.probe.read(w.head)
      if (facts) this.found.set(target, facts)
      w.head = new Uint8Array(0)
    }
  }
}
