// Every call the kit makes into a component runs as a step: a failure names the step, and a step
// that never settles (a lock never released, a request never answered) fails after a timeout with
// a message naming the step and its likely cause, before the test runner's own timeout hides both.
import { ComplianceError } from './compliance-error.js'

/** Per step, well under a test runner's usual 5 s test timeout; kit options raise it. */
export const DEFAULT_STEP_TIMEOUT_MS = 4_000

/** What usually keeps a hook from settling, by the hook a step name starts with. */
const LIKELY_CAUSE: Record<string, string> = {
  prepare: 'is a lock (or session) taken by an earlier prepare() never released? commit() and abort() must release what prepare() took',
  commit: 'does it wait for a lock, or for an upload that never finishes?',
  abort: 'does it wait for a blob writer the kit already aborted, or for a lock?',
  write: 'does it wait for backpressure that never eases (a stream nobody reads)?',
  create: 'does it wait for a connection or a lock at creation?',
  list: 'does a request never get an answer, or the listing never end?',
  open: 'does a request never get an answer?',
  reading: 'does the stream stall without ending or failing (a body nobody resumes)?',
}
const GENERIC_CAUSE = 'a promise that never settles: a request never answered, or a lock an earlier step took and never released'

export type Step = <T>(what: string, fn: () => T | Promise<T>) => Promise<T>

/**
 * A step runner for one component: `step('prepare() on a re-run', () => sink.prepare?.())`. A
 * ComplianceError passes through; anything else thrown becomes `<what> failed: <message>`.
 */
export function stepRunner(type: string, timeoutMs: number = DEFAULT_STEP_TIMEOUT_MS): Step {
  return async (what, fn) => {
    let timer: NodeJS.Timeout | undefined
    const stuck = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const hook = /^[a-zA-Z]+/.exec(what)?.[0] ?? ''
        reject(
          new ComplianceError(
            type,
            `${what} did not settle within ${formatMs(timeoutMs)}: ${LIKELY_CAUSE[hook] ?? GENERIC_CAUSE} (raise \`stepTimeoutMs\` if the target is merely slow)`,
          ),
        )
      }, timeoutMs)
      timer.unref()
    })
    try {
      return await Promise.race([Promise.resolve().then(fn), stuck])
    } catch (err) {
      if (err instanceof ComplianceError) throw err
      throw new ComplianceError(type, `${what} failed: ${(err as Error)?.message ?? String(err)}`)
    } finally {
      clearTimeout(timer)
    }
  }
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`
}
