// Everything a component may use to do I/O or to tell the user something. Components never read
// process.env or print: tests inject all of it, and the engine cancels through `signal`.
import type { RunEvent } from './events.js'

export interface Logger {
  debug(message: string): void
  info(message: string): void
  warn(message: string): void
}

export interface ComponentContext {
  /** Component type, for messages: every log line of a component carries it. */
  readonly type: string
  readonly logger: Logger
  readonly signal: AbortSignal
  /** Layers (or blobs) moved at once. */
  readonly concurrency: number
  /** Folder relative paths in the recipe are resolved against. */
  readonly baseDir: string
  /** The environment, as the recipe's run sees it (for defaults such as HF_TOKEN). */
  readonly env: Readonly<Record<string, string | undefined>>
  readonly fetch: typeof globalThis.fetch
  /** Reports progress and notable facts; the CLI renders them. */
  emit(event: RunEvent): void
  /** Registers a secret so that it is masked in every message the run prints. */
  secret(value: string): void
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {} }
