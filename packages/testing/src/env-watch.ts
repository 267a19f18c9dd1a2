// Catches a component reading process.env while the kit runs it: components take the environment
// from ctx.env (a test context's is empty), so a read of process.env is a setting the test cannot
// give and a user's recipe cannot see. process.env is swapped for a Proxy while a kit runs, and a
// read counts only when it comes from the kit's own async context (the component's hooks, and the
// libraries they call): what the test runner does meanwhile is not the component's.
import { AsyncLocalStorage } from 'node:async_hooks'

/**
 * What Node reads on its own the first time a feature is used (its built-in fetch, undici, reads
 * `UNDICI_NO_FG` and `JEST_WORKER_ID`; internals read `NODE_*`): not the component's settings.
 */
export const RUNTIME_ENV = ['NODE_*', 'UNDICI_*', 'JEST_WORKER_ID']

/** The variables read, in the order first read; `enumerated` when the whole environment was. */
export class EnvReads {
  readonly names = new Set<string>()
  enumerated = false
  private readonly allowed: readonly string[]
  constructor(allowed: readonly string[]) {
    this.allowed = [...RUNTIME_ENV, ...allowed]
  }

  record(name: string): void {
    if (!this.isAllowed(name)) this.names.add(name)
  }

  private isAllowed(name: string): boolean {
    return this.allowed.some((a) => (a.endsWith('*') ? name.startsWith(a.slice(0, -1)) : name === a))
  }

  /** The complaint, or undefined when nothing was read. */
  problem(): string | undefined {
    let what: string
    if (this.enumerated && !this.isAllowed('*')) what = 'enumerated the whole of process.env (copied it, or gave it to a child process)'
    else if (this.names.size) {
      const names = [...this.names]
      const shown = names.slice(0, 24).map((n) => `\`${n}\``)
      if (names.length > shown.length) shown.push(`and ${names.length - shown.length} more`)
      what = `read ${shown.join(', ')} from process.env`
    } else return undefined
    return (
      `${what} while it ran: take settings from the config or from \`ctx.env\` (the run's environment, empty in a test context); ` +
      'for a library that reads variables of its own, list them in `allowEnv`'
    )
  }
}

const current = new AsyncLocalStorage<EnvReads>()
let installed: { original: NodeJS.ProcessEnv; users: number } | undefined

function install(): void {
  if (installed) {
    installed.users++
    return
  }
  // The kit is the one place that touches process.env: to see who reads it.
  // eslint-disable-next-line no-restricted-properties
  const original = process.env
  const seen = (key: string | symbol) => {
    if (typeof key === 'string') current.getStore()?.record(key)
  }
  const watched = new Proxy(original, {
    get: (target, key) => (seen(key), Reflect.get(target, key)),
    has: (target, key) => (seen(key), Reflect.has(target, key)),
    getOwnPropertyDescriptor: (target, key) => (seen(key), Reflect.getOwnPropertyDescriptor(target, key)),
    ownKeys: (target) => {
      const reads = current.getStore()
      if (reads) reads.enumerated = true
      return Reflect.ownKeys(target)
    },
  })
  installed = { original, users: 1 }
  // eslint-disable-next-line no-restricted-properties
  process.env = watched
}

function uninstall(): void {
  if (!installed || --installed.users > 0) return
  // eslint-disable-next-line no-restricted-properties
  process.env = installed.original
  installed = undefined
}

/** Runs `fn` with process.env watched; what it (and everything it awaits) read comes back in `reads`. */
export async function watchEnv<T>(allowed: readonly string[], fn: () => Promise<T>): Promise<{ value: T; reads: EnvReads }> {
  const reads = new EnvReads(allowed)
  install()
  try {
    return { value: await current.run(reads, fn), reads }
  } finally {
    uninstall()
  }
}
