// Ctrl-C or SIGTERM during a run aborts it through its AbortSignal, so sinks remove what they had
// staged (temporary blobs, an upload session) instead of the process dying half-way.

/** Runs `work` with a signal that Ctrl-C or SIGTERM aborts; the handlers are gone once it settles. */
export async function interruptible<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController()
  const stop = () => controller.abort(new Error('interrupted'))
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  try {
    return await work(controller.signal)
  } finally {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
  }
}
