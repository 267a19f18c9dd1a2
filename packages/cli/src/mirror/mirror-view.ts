// What a mirror shows: on a terminal, a line per model (state, bytes, rate) redrawn in place;
// otherwise a line when a model starts and when it ends; with --json, every run event tagged with
// its model. At the end, a summary table: each model, how it ended, and why when it failed.
import { formatBytes, isModelcarError, type CatalogModel, type RunEvent } from '@modelcar/core'
import { LiveLines } from '../command-line/live-lines.js'
import type { Output } from '../command-line/output.js'
import type { ModelOutcome } from './mirror-models.js'

interface Line {
  state: 'waiting' | 'listing' | 'mirroring' | 'done' | 'failed'
  bytes: number
  total: number
  done: Map<number, number>
  started: number
}

export class MirrorView {
  private readonly lines = new Map<string, Line>()
  private readonly live: LiveLines
  private readonly tty: boolean

  constructor(
    private readonly output: Output,
    models: CatalogModel[],
    stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = !output.json && !!stream.isTTY && process.env.TERM !== 'dumb'
    this.live = new LiveLines(() => this.render(), stream, this.tty)
    for (const m of models) this.lines.set(m.name, { state: 'waiting', bytes: 0, total: 0, done: new Map(), started: 0 })
  }

  start = (model: CatalogModel): void => {
    const l = this.lines.get(model.name)!
    Object.assign(l, { state: 'listing', started: performance.now() })
    if (this.output.json) this.output.event({ type: 'model-start', model: model.name, source: model.label })
    else if (!this.tty) this.output.note(`${model.name}: mirroring ${model.label}`)
    this.schedule()
  }

  event = (model: CatalogModel, e: RunEvent): void => {
    if (this.output.json) return this.output.event({ ...e, model: model.name })
    const l = this.lines.get(model.name)!
    if (e.type === 'plan') Object.assign(l, { state: 'mirroring', total: e.bytes })
    else if (e.type === 'layer-progress') l.done.set(e.layer, e.bytes)
    else if (e.type === 'layer-done') l.done.set(e.layer, Number.MAX_SAFE_INTEGER)
    else if (e.type === 'warning' && !this.tty) this.output.note(`${model.name}: warning: ${e.message}`)
    this.schedule()
  }

  end = (o: ModelOutcome): void => {
    const l = this.lines.get(o.model.name)!
    l.state = o.error ? 'failed' : 'done'
    if (this.output.json) {
      this.output.event({
        type: 'model-done',
        model: o.model.name,
        ok: !o.error,
        seconds: o.seconds,
        ...(o.result ? { digest: o.result.digest, reused: o.result.reused, bytes: o.result.bytes } : {}),
        ...(o.error ? { error: describe(o.error) } : {}),
      })
    } else if (!this.tty) this.output.note(`${o.model.name}: ${o.error ? `failed: ${describe(o.error)}` : `done, ${o.result!.digest}`}`)
    this.schedule()
  }

  /** The summary table (people) or one `summary` event (--json). */
  summary(outcomes: ModelOutcome[], shard: string | undefined): void {
    this.finish()
    const failed = outcomes.filter((o) => o.error)
    if (this.output.json) {
      this.output.event({ type: 'summary', models: outcomes.length, failed: failed.map((o) => o.model.name), ...(shard ? { shard } : {}) })
      return
    }
    const rows = outcomes.map((o) => [
      o.model.name,
      o.error ? 'FAILED' : 'ok',
      o.result ? `${o.result.layers.length - o.result.reused} new, ${o.result.reused} reused` : '',
      o.result ? formatBytes(o.result.bytes) : '',
      `${o.seconds.toFixed(1)} s`,
      o.error ? describe(o.error) : (o.result?.digest ?? ''),
    ])
    const widths = [0, 1, 2, 3, 4].map((c) =>
      Math.max(...rows.map((r) => r[c]!.length), ['model', 'state', 'layers', 'bytes', 'time'][c]!.length),
    )
    const line = (r: string[]) => r.map((cell, c) => (c < 5 ? cell.padEnd(widths[c]!) : cell)).join('  ')
    this.output.print(line(['model', 'state', 'layers', 'bytes', 'time', 'digest or reason']))
    for (const r of rows) this.output.print(line(r))
    this.output.print(
      `${outcomes.length - failed.length} of ${outcomes.length} models mirrored${shard ? ` (${shard})` : ''}${failed.length ? `; failed: ${failed.map((o) => o.model.name).join(', ')}` : ''}`,
    )
  }

  finish(): void {
    this.live.finish()
  }

  private schedule(): void {
    this.live.schedule()
  }

  private render(): string[] {
    const now = performance.now()
    const out: string[] = []
    for (const [name, l] of this.lines) {
      const done = Math.min(
        l.total,
        [...l.done.values()].reduce((n, b) => n + Math.min(b, l.total), 0),
      )
      const rate = l.started && done ? done / ((now - l.started) / 1000) : 0
      const bytes = l.total ? `${formatBytes(done)}/${formatBytes(l.total)}` : ''
      out.push(`${name.padEnd(24).slice(0, 24)} ${l.state.padEnd(9)} ${bytes.padEnd(22)} ${rate ? `${formatBytes(rate)}/s` : ''}`.trimEnd())
    }
    return out
  }
}

function describe(err: unknown): string {
  if (isModelcarError(err)) return err.message.split('\n')[0]!
  return err instanceof Error ? err.message : String(err)
}
