// Everything the CLI prints goes through here: secrets from the environment are masked, errors
// are formatted one way, and --json turns every message into one JSON object per line.
import { formatDiagnostic, isModelcarError, type ModelcarError } from '@modelcar/core'
import { exitCodeOf } from './exit-codes.js'

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

  error(err: unknown): number {
    if (isModelcarError(err)) return this.modelcarError(err)
    const e = err as Error
    if (this.json) this.event({ type: 'error', code: 'INTERNAL', message: e?.message ?? String(err) })
    else {
      this.err.write(this.mask(`error: ${e?.message ?? String(err)}\n`))
      if (process.env.MODELCAR_DEBUG && e?.stack) this.err.write(this.mask(`${e.stack}\n`))
      else this.err.write('  (set MODELCAR_DEBUG=1 for the stack trace; this is a bug worth reporting)\n')
    }
    return 1
  }

  private modelcarError(err: ModelcarError): number {
    if (this.json) {
      this.event({
        type: 'error',
        code: err.code,
        message: err.message,
        hint: err.hint,
        component: err.component,
        phase: err.phase,
        diagnostics: err.diagnostics,
        cause: causeText(err.cause),
      })
      return exitCodeOf(err)
    }
    const lines = [`error: ${err.message}`]
    if (err.diagnostics.length > 0 && err.code !== 'COMPONENT_UNKNOWN')
      for (const d of err.diagnostics) lines.push(`  ${formatDiagnostic(d)}`)
    else if (err.hint) lines.push(`  hint: ${err.hint}`)
    const cause = causeText(err.cause)
    if (cause && !err.message.includes(cause)) lines.push(`  cause: ${cause}`)
    this.err.write(this.mask(`${lines.join('\n')}\n`))
    return exitCodeOf(err)
  }
}

function causeText(cause: unknown): string | undefined {
  if (!cause) return undefined
  if (isModelcarError(cause)) return undefined
  return cause instanceof Error ? cause.message : String(cause)
}
