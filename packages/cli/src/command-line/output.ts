// Everything the CLI prints goes through here: secrets from the environment are masked, errors
// are formatted one way, and --json turns every message into one JSON object per line.
import { formatDiagnostic, isModelcarError, type ModelcarError } from '@modelcar/core'

const SECRET_NAME = /TOKEN|PASSWORD|PASSWD|SECRET|CREDENTIAL|_KEY$|^AWS_SECRET/i

export class Output {
  private readonly secrets: string[]

  constructor(
    readonly json: boolean,
    env: Readonly<Record<string, string | undefined>>,
    private readonly out: NodeJS.WritableStream = process.stdout,
    private readonly err: NodeJS.WritableStream = process.stderr,
  ) {
    this.secrets = Object.entries(env)
      .filter(([k, v]) => SECRET_NAME.test(k) && v && v.length >= 4)
      .map(([, v]) => v!)
  }

  addSecret(value: string): void {
    if (value.length >= 4) this.secrets.push(value)
  }

  mask(text: string): string {
    let t = text
    for (const s of this.secrets) t = t.split(s).join('***')
    return t
  }

  /** A line for people (stdout). Suppressed with --json. */
  print(text: string): void {
    if (!this.json) this.out.write(`${this.mask(text)}\n`)
  }

  /** A note for people (stderr). Suppressed with --json. */
  note(text: string): void {
    if (!this.json) this.err.write(`${this.mask(text)}\n`)
  }

  /** One JSON object per line (stdout), with --json only. */
  event(obj: object): void {
    if (this.json) this.out.write(`${this.mask(JSON.stringify(obj))}\n`)
  }

  /** Raw text to stdout (schema, init), masked all the same. */
  write(text: string): void {
    this.out.write(this.mask(text))
  }

  /** Says what went wrong: one `error` event with --json, else lines on stderr. Secrets are masked. */
  error(err: unknown): void {
    if (isModelcarError(err)) return this.modelcarError(err)
    const e = err as Error
    if (this.json) this.event({ type: 'error', code: 'INTERNAL', message: e?.message ?? String(err) })
    else {
      this.err.write(this.mask(`error: ${e?.message ?? String(err)}\n`))
      if (process.env.MODELCAR_DEBUG && e?.stack) this.err.write(this.mask(`${e.stack}\n`))
      else this.err.write('  (set MODELCAR_DEBUG=1 for the stack trace; this is a bug worth reporting)\n')
    }
  }

  private modelcarError(err: ModelcarError): void {
    if (this.json) {
      this.event({
        type: 'error',
        code: err.code,
        message: err.message,
        hint: err.hint,
        component: err.component,
        phase: err.phase,
        diagnostics: err.diagnostics,
        http: err.http,
        retryable: err.retryable || undefined,
        cause: causeText(err.cause),
      })
      return
    }
    this.err.write(this.mask(`${errorLines(err).join('\n')}\n`))
  }
}

/**
 * An error as a person reads it: the message, every diagnostic, the hint (unless a diagnostic
 * already says it), what the server answered when the message does not say it, and a foreign cause.
 */
export function errorLines(err: ModelcarError): string[] {
  const lines = [`error: ${err.message}`]
  // A diagnostic that only repeats the message (no place in a file) is said once, by the message.
  const diagnostics = err.diagnostics.filter((d) => d.location || d.message !== err.message)
  for (const d of diagnostics) lines.push(`  ${formatDiagnostic(d)}`)
  if (err.hint && !diagnostics.some((d) => d.hint === err.hint)) lines.push(`  hint: ${err.hint}`)
  const http = err.http
  if (http && !(err.message.includes(http.url) && (!http.requestId || err.message.includes(http.requestId)))) {
    const facts = [
      http.status === undefined ? 'no answer' : `status ${http.status}`,
      http.requestId ? `request id ${http.requestId}` : '',
      http.serverCodes?.length ? `server codes ${http.serverCodes.join(', ')}` : '',
    ].filter(Boolean)
    lines.push(`  http: [${http.method}] ${http.url}: ${facts.join(', ')}`)
  }
  const cause = causeText(err.cause)
  if (cause && !err.message.includes(cause)) lines.push(`  cause: ${cause}`)
  return lines
}

function causeText(cause: unknown): string | undefined {
  if (!cause) return undefined
  if (isModelcarError(cause)) return undefined
  return cause instanceof Error ? cause.message : String(cause)
}
