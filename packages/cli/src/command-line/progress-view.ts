// Renders run events: progress bars on a terminal (bytes, rate, ETA per layer and in total),
// plain lines otherwise, one JSON object per line with --json.
import { formatBytes, type RunEvent } from '@modelcar/core'
import { LiveLines } from './live-lines.js'
import type { Output } from './output.js'

interface LayerState {
  title: string
  bytes: number
  done: number
  started: number
  finished?: number
  digest?: string
  /** Not read: every sink had it. */
  reused?: boolean
}

const BAR = 24

export class ProgressView {
  private readonly layers = new Map<number, LayerState>()
  private total = 0
  private started = performance.now()
  private readonly live: LiveLines
  private readonly tty: boolean

  constructor(
    private readonly output: Output,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = !output.json && !!stream.isTTY && process.env.TERM !== 'dumb'
    this.live = new LiveLines(() => this.lines(), stream, this.tty)
  }

  on = (e: RunEvent): void => {
    if (this.output.json) {
      this.output.event(e)
      return
    }
    switch (e.type) {
      case 'plan':
        this.total = e.bytes
        this.started = performance.now()
        this.output.note(
          `plan: ${e.files} file${e.files === 1 ? '' : 's'}, ${formatBytes(e.bytes)}, ${e.layers} new layer${e.layers === 1 ? '' : 's'} on ${e.baseLayers} base layer${e.baseLayers === 1 ? '' : 's'}`,
        )
        break
      case 'layer-start':
        this.layers.set(e.layer, { title: e.title, bytes: e.bytes, done: 0, started: performance.now() })
        this.schedule()
        break
      case 'layer-progress': {
        const l = this.layers.get(e.layer)
        if (l) l.done = e.bytes
        this.schedule()
        break
      }
      case 'layer-done': {
        const l = this.layers.get(e.layer)
        if (l) {
          l.finished = performance.now()
          l.digest = e.digest
          l.done = l.bytes
          l.reused = e.skipped === true
        }
        if (!this.tty && l)
          this.output.note(
            `layer ${e.digest.slice(7, 19)} ${formatBytes(e.size).padStart(10)}  ${l.title}${e.skipped ? '  (reused: not read)' : ''}`,
          )
        this.schedule()
        break
      }
      case 'retry':
        this.lineAbove(`retry ${e.attempt} for ${e.what}: ${e.reason}`)
        break
      case 'warning':
        this.lineAbove(`warning: ${e.component ? `[${e.component}] ` : ''}${e.message}`)
        break
      case 'log':
        if (e.level === 'info') this.lineAbove(`${e.component ? `[${e.component}] ` : ''}${e.message}`)
        break
      case 'blob-copy':
        break
      case 'commit':
        this.finish()
        this.output.note(`wrote ${e.ref} (${e.digest})`)
        break
      case 'done':
        this.finish()
        this.output.note(
          `done in ${e.seconds.toFixed(1)} s, ${formatBytes(e.bytes)} at ${formatBytes(e.bytes / Math.max(e.seconds, 0.001))}/s${e.reused ? `; ${e.reused} layer${e.reused === 1 ? '' : 's'} reused, not read` : ''}`,
        )
        break
    }
  }

  /** Draws the bars one last time and leaves them on screen; called again, it does nothing. */
  finish(): void {
    this.live.finish(this.layers.size > 0)
    this.layers.clear()
  }

  private lineAbove(text: string): void {
    this.live.above(() => this.output.note(text))
  }

  private schedule(): void {
    this.live.schedule()
  }

  private lines(): string[] {
    const now = performance.now()
    const width = Math.max(60, this.stream.columns ?? 100)
    const lines: string[] = []
    let done = 0
    for (const l of this.layers.values()) {
      done += l.done
      if (l.finished) continue
      lines.push(row(l.title, l.done, l.bytes, (now - l.started) / 1000, width))
    }
    for (const l of this.layers.values())
      if (l.finished && now - l.finished < 1500)
        lines.unshift(`  ${l.reused ? 'kept' : 'done'} ${l.digest?.slice(7, 19)}  ${l.title}`.slice(0, width - 1))
    lines.push(row('total', done, this.total, (now - this.started) / 1000, width))
    return lines
  }
}

function row(title: string, done: number, total: number, seconds: number, width: number): string {
  const frac = total > 0 ? Math.min(1, done / total) : 1
  const filled = Math.round(frac * BAR)
  const rate = seconds > 0 ? done / seconds : 0
  const eta = rate > 0 && total > done ? (total - done) / rate : 0
  const stats = `${formatBytes(done)}/${formatBytes(total)} ${formatBytes(rate)}/s ETA ${eta.toFixed(0)}s`
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(BAR - filled)}]`
  const room = Math.max(10, width - bar.length - stats.length - 6)
  const name = title.length > room ? `…${title.slice(-(room - 1))}` : title.padEnd(room)
  return `  ${name} ${bar} ${stats}`
}
