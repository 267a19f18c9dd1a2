// Turns the engine's pushes (`write(chunk)`) into a request body fetch pulls from. Up to
// `maxBufferedBytes` wait here, so the encoder (and the download behind it) runs ahead while the
// socket drains; beyond that a write waits until fetch has taken enough. Memory stays bounded
// whatever the blob's size, and backpressure reaches the source.

/**
 * Enough to keep encoding while the socket drains (the kernel's send buffer holds more). Every
 * upload in flight holds this much: pushing a 2 GiB layout (four uploads at once) peaked at
 * 183–197 MB with 8 MiB, 136–162 MB with 1 MiB, in the same time.
 */
export const DEFAULT_BUFFERED_BYTES = 1 << 20

export class BodyBridge {
  readonly stream: ReadableStream<Uint8Array>
  private controller!: ReadableStreamDefaultController<Uint8Array>
  private waiting: { resolve: () => void; reject: (e: unknown) => void } | undefined
  private failure: { err: unknown } | undefined

  constructor(maxBufferedBytes = DEFAULT_BUFFERED_BYTES) {
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          this.controller = c
        },
        // Called when fetch took enough that the queue is below its limit again.
        pull: () => {
          const w = this.waiting
          this.waiting = undefined
          w?.resolve()
        },
        cancel: (reason) => this.fail(reason ?? new Error('the request body was cancelled')),
      },
      new ByteLengthQueuingStrategy({ highWaterMark: maxBufferedBytes }),
    )
  }

  push(chunk: Uint8Array): Promise<void> {
    if (this.failure) return Promise.reject(this.failure.err)
    this.controller.enqueue(chunk)
    if ((this.controller.desiredSize ?? 0) > 0) return Promise.resolve()
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject }
    })
  }

  close(): void {
    if (!this.failure) this.controller.close()
  }

  /** Ends the body with an error: the request fails, and a waiting or later push rejects with `err`. */
  fail(err: unknown): void {
    if (this.failure) return
    this.failure = { err }
    this.waiting?.reject(err)
    this.waiting = undefined
    try {
      this.controller.error(err)
    } catch {
      // already closed or errored
    }
  }

  get failed(): unknown {
    return this.failure?.err
  }
}
