// The one error family. A code is a stable string: core's own are listed in core-errors.ts, and a
// plugin keeps codes of its own (`MYSTORE_QUOTA`); the engine wraps whatever a component throws
// with the component's type and the phase it was in, and keeps the code.
import type { Diagnostic } from './diagnostic.js'

/** The hook of a component that was running when something failed. */
export type Phase = 'validate' | 'create' | 'load' | 'list' | 'open' | 'read' | 'apply' | 'write' | 'commit' | 'check'

/** What a failed HTTP exchange said, as typed fields rather than words in a message. */
export interface HttpFacts {
  method: string
  /** Origin and path only (never a query, never user info): safe to show. */
  url: string
  /** The status, when the server answered at all. */
  status?: number
  /** The server's request id (x-request-id, x-amz-request-id), for support tickets. */
  requestId?: string
  /** Machine-readable error codes of the answer (an OCI registry's `errors[].code`, the Hub's X-Error-Code). */
  serverCodes?: string[]
}

export interface ModelcarErrorOptions {
  /** What would be right, or what to do next. */
  hint?: string
  /** Every problem found, for errors that report many at once (a recipe). */
  diagnostics?: Diagnostic[]
  /** The component `type` the error belongs to, and the phase it was in (set by the engine). */
  component?: string
  phase?: Phase
  cause?: unknown
  /** Bad input (the recipe, arguments, credentials the user gave) rather than a failed run. */
  input?: boolean
  /** A transient failure worth another try (a cut connection, a 503). */
  retryable?: boolean
  /** How long the other side asked us to wait before that try (Retry-After). */
  retryAfterMs?: number
  http?: HttpFacts
}

/**
 * Marks a ModelcarError. A plugin may load its own copy of @modelcar/core (a second install under
 * the recipe's folder), whose class is not ours: `instanceof` checks this mark instead of the class.
 */
const BRAND = Symbol.for('modelcar.ModelcarError')

export class ModelcarError extends Error {
  override name = 'ModelcarError'
  readonly [BRAND] = true
  /** Stable, machine-readable: `RECIPE_INVALID`, `REGISTRY_REFUSED`, or a plugin's own. */
  readonly code: string
  readonly hint: string | undefined
  readonly diagnostics: Diagnostic[]
  readonly component: string | undefined
  readonly phase: Phase | undefined
  readonly input: boolean
  readonly retryable: boolean
  readonly retryAfterMs: number | undefined
  readonly http: HttpFacts | undefined

  constructor(code: string, message: string, opts: ModelcarErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.code = code
    this.hint = opts.hint
    this.diagnostics = opts.diagnostics ?? []
    this.component = opts.component
    this.phase = opts.phase
    this.input = opts.input ?? false
    this.retryable = opts.retryable ?? false
    this.retryAfterMs = opts.retryAfterMs
    this.http = opts.http
  }

  static override [Symbol.hasInstance](x: unknown): boolean {
    return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[BRAND] === true
  }
}

export function isModelcarError(err: unknown): err is ModelcarError {
  return err instanceof ModelcarError
}

/**
 * Everything but code and message, to build a changed copy:
 * `new ModelcarError(err.code, message, { ...optionsOf(err), retryable: false })`. Reads fields
 * only, so it works on an error from another copy of @modelcar/core.
 */
export function optionsOf(err: ModelcarError): ModelcarErrorOptions {
  return {
    hint: err.hint,
    diagnostics: err.diagnostics,
    component: err.component,
    phase: err.phase,
    cause: err.cause,
    input: err.input,
    retryable: err.retryable,
    retryAfterMs: err.retryAfterMs,
    http: err.http,
  }
}
