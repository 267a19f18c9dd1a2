// A ComponentContext for tests: nothing printed, everything the component says kept for asserts.
import type { ComponentContext, RunEvent } from '@modelcar/core'

export interface TestContext extends ComponentContext {
  /** Every log line, warning and event, in order. */
  readonly events: RunEvent[]
  /** Values the component registered with `secret()`. */
  readonly secrets: string[]
}

export interface TestContextOptions {
  type?: string
  baseDir?: string
  env?: Record<string, string | undefined>
  fetch?: typeof globalThis.fetch
  signal?: AbortSignal
  concurrency?: number
}

export function testContext(opts: TestContextOptions = {}): TestContext {
  const events: RunEvent[] = []
  const secrets: string[] = []
  const type = opts.type ?? 'test'
  return {
    type,
    events,
    secrets,
    logger: {
      debug: (message) => void events.push({ type: 'log', level: 'debug', message, component: type }),
      info: (message) => void events.push({ type: 'log', level: 'info', message, component: type }),
      warn: (message) => void events.push({ type: 'warning', message, component: type }),
    },
    signal: opts.signal ?? new AbortController().signal,
    concurrency: opts.concurrency ?? 2,
    baseDir: opts.baseDir ?? process.cwd(),
    // Empty unless the test gives one: a component must not depend on the machine it runs on.
    env: opts.env ?? {},
    fetch: opts.fetch ?? globalThis.fetch,
    emit: (event) => void events.push(event),
    secret: (value) => void secrets.push(value),
  }
}
