// Turns the engine's pushes (`write(chunk)`) into a request body fetch pulls from. A write
// resolves once the body has taken its chunk, so at most one chunk waits here: memory stays
// bounded whatever the blob's size, and backpressure reaches the encoder.

export class BodyBridge {
  readonly stream: ReadableStream<Uint8Array>
  private controller!: ReadableStreamDefaultController<Uint8Array>
  private queued: { chunk: Uint8Array; resolve: () => void; reject: (e: unknown) => void } | undefined
  private puller: (() => void) | undefined
  private failure: { err: unknown } | undefined

  constructor() {
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          this.controller = c
        },
        pull: () =>
          new Promise<void>((resolve) => {
            if (this.queued) {
              this.deliver()
              resolve()
            } else this.puller = resolve
          }),
        cancel: (reason) => this.fail(reason ?? new Error('the request body was cancelled')),
      },
      { highWaterMark: 0 },
    )
  }

  push(chunk: Uint8Array): Promise<void> {
    if (this.failure) return Promise.reject(this.failure.err)
    return new Promise((resolve, reject) => {
      this.queued = { chunk, resolve, reject }
      if (this.puller) {
        const p = this.puller
        this.puller = undefined
        this.deliver()
        p()
      }
    })
  }

  close(): void {
    if (!this.failure) this.controller.close()
  }

  /** Ends the body with an error: the request fails, and a waiting or later push rejects with `err`. */
  fail(err: unknown): void {
    if (this.failure) return
    this.failure = { err }
    this.queued?.reject(err)
    this.queued = undefined
    try {
      this.controller.error(err)
    } catch {
      // already closed or errored
    }
  }

  get failed(): unknown {
    return this.failure?.err
  }

  private deliver(): void {
    const q = this.queued!
    this.queued = undefined
    this.controller.enqueue(q.chunk)
    q.resolve()
  }
}
