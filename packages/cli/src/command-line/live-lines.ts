// Lines redrawn in place on a terminal (progress bars, a line per model): at most every
// `REDRAW_MS`, the previous drawing erased first, and a note printed above them without tearing
// them. Off a terminal it draws nothing; the caller prints plain lines instead.

const REDRAW_MS = 100

export class LiveLines {
  private drawn = 0
  private timer: NodeJS.Timeout | undefined

  constructor(
    /** What to draw now, one string per line. */
    private readonly render: () => string[],
    private readonly stream: NodeJS.WriteStream,
    readonly tty: boolean,
  ) {}

  /** Redraws soon (coalescing many changes into one drawing). */
  schedule(): void {
    if (!this.tty || this.timer) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.draw()
    }, REDRAW_MS)
  }

  /** `print` a line above the drawing. */
  above(print: () => void): void {
    if (this.tty) this.clear()
    print()
    if (this.tty) this.draw()
  }

  /** Draws one last time and leaves the lines on screen; later drawings start below them. */
  finish(drawLast = true): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    if (this.tty && drawLast) this.draw()
    this.drawn = 0
  }

  private clear(): void {
    if (this.drawn > 0) this.stream.write(`\x1b[${this.drawn}A\x1b[0J`)
    this.drawn = 0
  }

  private draw(): void {
    this.clear()
    const lines = this.render()
    this.stream.write(`${lines.join('\n')}\n`)
    this.drawn = lines.length
  }
}
