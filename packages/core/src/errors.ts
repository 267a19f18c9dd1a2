// Every error modelcar raises on purpose: one class, stable codes, one factory per code.
// Messages are short, put the offending value in backticks, and never carry a secret.

/** Exit codes of the CLI: 1 the run failed, 2 the input (recipe, arguments) is wrong. */
export const EXIT_RUN_FAILED = 1
export const EXIT_BAD_INPUT = 2

export type ErrorCode =
  | 'RECIPE_INVALID'
  | 'ARGUMENT_INVALID'
  | 'COMPONENT_UNKNOWN'
  | 'COMPONENT_INVALID'
  | 'COMPONENT_FAILED'
  | 'SOURCE_PATH_MISSING'
  | 'SOURCE_LINK_BROKEN'
  | 'SOURCE_NOTHING_MATCHED'
  | 'SOURCE_SIZE_MISMATCH'
  | 'SOURCE_DIGEST_MISMATCH'
  | 'PATH_UNSAFE'
  | 'PATH_COLLISION'
  | 'LAYOUT_INVALID'
  | 'LAYOUT_TAG_MISSING'
  | 'IMAGE_UNSUPPORTED'
  | 'BLOB_DIGEST_MISMATCH'
  | 'BLOB_MISSING'
  | 'PLAN_INVALID'
  | 'REGISTRY_REFUSED'
  | 'REGISTRY_UNREACHABLE'
  | 'TOOL_MISSING'
  | 'TOOL_FAILED'
  | 'REGISTRY_CREDENTIALS_REQUIRED'
  | 'REGISTRY_CREDENTIALS_REJECTED'
  | 'REGISTRY_ACCESS_DENIED'
  | 'REGISTRY_CREDENTIALS_UNREADABLE'
  | 'REGISTRY_CREDENTIALS_INSECURE'
  | 'REGISTRY_AUTH_FAILED'
  | 'ABORTED'

/** Where in an input file a problem is. Lines and columns start at 1. */
export interface SourceLocation {
  file: string
  line: number
  col: number
}

export interface Diagnostic {
  location?: SourceLocation
  /** What is wrong, with the offending value in backticks. */
  message: string
  /** What would be right (allowed keys, expected form). */
  hint?: string
}

export interface ModelcarErrorOptions {
  hint?: string
  /** Every problem found, for errors that report many at once (a recipe). */
  diagnostics?: Diagnostic[]
  /** The component `type` the error belongs to, and the phase it was in. */
  component?: string
  phase?: 'validate' | 'create' | 'list' | 'open' | 'read' | 'apply' | 'write' | 'commit' | 'check'
  cause?: unknown
  /** Bad input (exit 2) rather than a failed run (exit 1). */
  input?: boolean
  /** A transient failure worth retrying (a cut connection, a 503). */
  retryable?: boolean
}

/**
 * Marks a ModelcarError. A plugin may load its own copy of @modelcar/core (a second install under
 * the recipe's folder), whose class is not ours: `instanceof` checks this mark instead of the class.
 */
const BRAND = Symbol.for('modelcar.ModelcarError')

export class ModelcarError extends Error {
  override name = 'ModelcarError'
  readonly [BRAND] = true
  readonly code: ErrorCode
  readonly hint: string | undefined
  readonly diagnostics: Diagnostic[]
  readonly component: string | undefined
  readonly phase: ModelcarErrorOptions['phase']
  readonly input: boolean
  readonly retryable: boolean

  constructor(code: ErrorCode, message: string, opts: ModelcarErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.code = code
    this.hint = opts.hint
    this.diagnostics = opts.diagnostics ?? []
    this.component = opts.component
    this.phase = opts.phase
    this.input = opts.input ?? false
    this.retryable = opts.retryable ?? false
  }

  get exitCode(): number {
    return this.input ? EXIT_BAD_INPUT : EXIT_RUN_FAILED
  }

  static override [Symbol.hasInstance](x: unknown): boolean {
    return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[BRAND] === true
  }
}

export function isModelcarError(err: unknown): err is ModelcarError {
  return err instanceof ModelcarError
}

export function formatLocation(loc: SourceLocation | undefined): string {
  return loc ? `${loc.file}:${loc.line}:${loc.col}` : ''
}

/** One diagnostic as a line a person reads: `recipe.yaml:3:5: message (hint)`. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = formatLocation(d.location)
  return `${where ? `${where}: ` : ''}${d.message}${d.hint ? `\n    hint: ${d.hint}` : ''}`
}

// ---- factories, one per code -------------------------------------------------------------

export const errors = {
  recipeInvalid(file: string, diagnostics: Diagnostic[]): ModelcarError {
    const n = diagnostics.length
    return new ModelcarError('RECIPE_INVALID', `${file}: ${n} problem${n === 1 ? '' : 's'} in the recipe`, {
      diagnostics,
      input: true,
    })
  },
  argumentInvalid(message: string, hint?: string): ModelcarError {
    return new ModelcarError('ARGUMENT_INVALID', message, { hint, input: true })
  },
  componentUnknown(type: string, kind: string, hint: string, location?: SourceLocation): ModelcarError {
    return new ModelcarError('COMPONENT_UNKNOWN', `unknown ${kind} \`${type}\``, {
      hint,
      input: true,
      diagnostics: [{ location, message: `unknown ${kind} \`${type}\``, hint }],
    })
  },
  componentInvalid(type: string, message: string, hint?: string): ModelcarError {
    return new ModelcarError('COMPONENT_INVALID', `[${type}] ${message}`, { hint, component: type, input: true })
  },
  /** Wraps an unexpected throw from a component with its type and phase. */
  componentFailed(type: string, phase: NonNullable<ModelcarErrorOptions['phase']>, cause: unknown): ModelcarError {
    if (cause instanceof ModelcarError && cause.component) return cause
    const inner = cause instanceof Error ? cause.message : String(cause)
    if (cause instanceof ModelcarError) {
      return new ModelcarError(cause.code, `[${type}] ${cause.message}`, {
        hint: cause.hint,
        diagnostics: cause.diagnostics,
        component: type,
        phase,
        cause,
        input: cause.input,
        retryable: cause.retryable,
      })
    }
    return new ModelcarError('COMPONENT_FAILED', `[${type}] ${phase} failed: ${inner}`, { component: type, phase, cause })
  },
  sourcePathMissing(path: string, hint?: string): ModelcarError {
    return new ModelcarError('SOURCE_PATH_MISSING', `\`${path}\` does not exist`, { hint, input: true })
  },
  sourceLinkBroken(path: string, why: string): ModelcarError {
    return new ModelcarError('SOURCE_LINK_BROKEN', `symbolic link \`${path}\` ${why}`, {
      hint: 'fix or remove the link, or exclude it with `exclude`',
      input: true,
    })
  },
  sourceNothingMatched(where: string, patterns: string[]): ModelcarError {
    return new ModelcarError('SOURCE_NOTHING_MATCHED', `no file in ${where} matches ${patterns.map((p) => `\`${p}\``).join(', ')}`, {
      hint: 'check the include/exclude globs; `**` matches across folders',
      input: true,
    })
  },
  sizeMismatch(path: string, declared: number, actual: number, more: boolean): ModelcarError {
    return new ModelcarError(
      'SOURCE_SIZE_MISMATCH',
      `\`${path}\` yielded ${more ? 'more than' : 'only'} ${actual} bytes but its declared size is ${declared}`,
      { hint: 'the file changed while it was read, or the source reported a wrong size' },
    )
  },
  digestMismatch(path: string, expected: string, actual: string): ModelcarError {
    return new ModelcarError('SOURCE_DIGEST_MISMATCH', `\`${path}\` has digest \`${actual}\` but the source announced \`${expected}\``, {
      hint: 'the content is corrupt or was replaced while it was read; nothing was committed',
    })
  },
  pathUnsafe(path: string, why: string): ModelcarError {
    return new ModelcarError('PATH_UNSAFE', `path \`${path}\` ${why}`, {
      hint: 'model paths must be relative and stay inside the image prefix (no `..`, no leading `/`)',
      input: true,
    })
  },
  pathCollision(path: string, a: string, b: string): ModelcarError {
    return new ModelcarError('PATH_COLLISION', `two files would be stored at \`${path}\`: ${a} and ${b}`, {
      hint: 'use `into` on one of the sources, or exclude one of them',
      input: true,
    })
  },
  layoutInvalid(path: string, why: string, hint?: string): ModelcarError {
    return new ModelcarError('LAYOUT_INVALID', `\`${path}\` is not a usable OCI image layout: ${why}`, { hint, input: true })
  },
  layoutTagMissing(path: string, tag: string, tags: string[]): ModelcarError {
    return new ModelcarError('LAYOUT_TAG_MISSING', `tag \`${tag}\` is not in the image layout \`${path}\``, {
      hint: tags.length ? `tags there: ${tags.map((t) => `\`${t}\``).join(', ')}` : 'the layout has no tagged image',
      input: true,
    })
  },
  imageUnsupported(what: string, hint?: string): ModelcarError {
    return new ModelcarError('IMAGE_UNSUPPORTED', what, { hint, input: true })
  },
  blobDigestMismatch(where: string, expected: string, actual: string): ModelcarError {
    return new ModelcarError('BLOB_DIGEST_MISMATCH', `blob from ${where} has digest \`${actual}\`, expected \`${expected}\``)
  },
  blobMissing(digest: string, where: string): ModelcarError {
    return new ModelcarError('BLOB_MISSING', `blob \`${digest}\` is missing from ${where}`, {
      hint: 'the base image layout is incomplete (a manifest-only copy?); copy it again with its layers',
    })
  },
  planInvalid(message: string, hint?: string): ModelcarError {
    return new ModelcarError('PLAN_INVALID', message, { hint })
  },
  /** A program a component shells out to is not installed. Not bad input: the machine lacks it. */
  toolMissing(tool: string, install: string): ModelcarError {
    return new ModelcarError('TOOL_MISSING', `\`${tool}\` is not installed (or not on PATH)`, { hint: install })
  },
  toolFailed(command: string, status: string, output: string, hint?: string): ModelcarError {
    const tail = output.trim().split('\n').slice(-6).join('\n    ')
    return new ModelcarError('TOOL_FAILED', `\`${command}\` ${status}${tail ? `:\n    ${tail}` : ''}`, { hint })
  },
  /** A registry answered with an error status: the message names method, URL, status and the registry's own code. */
  registryRefused(message: string, opts: { hint?: string; retryable?: boolean; cause?: unknown } = {}): ModelcarError {
    return new ModelcarError('REGISTRY_REFUSED', message, opts)
  },
  /** No HTTP answer at all: unknown host, refused or cut connection. */
  registryUnreachable(message: string, opts: { hint?: string; retryable?: boolean; cause?: unknown } = {}): ModelcarError {
    return new ModelcarError('REGISTRY_UNREACHABLE', message, opts)
  },
  aborted(reason?: unknown): ModelcarError {
    return new ModelcarError('ABORTED', 'the run was cancelled', { cause: reason })
  },
  // Registry authentication. `where` is "<status> <METHOD> <url without query>"; `source` is a file
  // path or `docker-credential-<helper>`: never a secret.
  registryCredentialsRequired(host: string, where: string): ModelcarError {
    return new ModelcarError('REGISTRY_CREDENTIALS_REQUIRED', `\`${host}\` needs credentials [${where}]`, {
      hint: `log in with \`podman login ${host}\` (or \`docker login ${host}\`), or point REGISTRY_AUTH_FILE at an auth.json holding them`,
      input: true,
    })
  },
  registryCredentialsRejected(host: string, source: string, where: string): ModelcarError {
    return new ModelcarError('REGISTRY_CREDENTIALS_REJECTED', `wrong credentials for \`${host}\` (from \`${source}\`) [${where}]`, {
      hint: `log in again with \`podman login ${host}\`; the user name or password (or token) is not accepted`,
      input: true,
    })
  },
  registryAccessDenied(host: string, what: string, source: string | undefined, where: string): ModelcarError {
    return new ModelcarError('REGISTRY_ACCESS_DENIED', `access to ${what} on \`${host}\` is denied [${where}]`, {
      hint: source
        ? `the account from \`${source}\` lacks that permission; ask for it, or use another account`
        : `no credentials were sent: log in with \`podman login ${host}\` if an account has that permission`,
      input: true,
    })
  },
  registryCredentialsUnreadable(source: string, why: string, hint?: string): ModelcarError {
    return new ModelcarError('REGISTRY_CREDENTIALS_UNREADABLE', `cannot read registry credentials from \`${source}\`: ${why}`, {
      hint,
      input: true,
    })
  },
  registryCredentialsInsecure(host: string, url: string): ModelcarError {
    return new ModelcarError('REGISTRY_CREDENTIALS_INSECURE', `credentials for \`${host}\` would be sent unencrypted to \`${url}\``, {
      hint: `use https, or declare \`${host}\` insecure if this plain-HTTP registry is trusted`,
      input: true,
    })
  },
  registryAuthFailed(host: string, why: string, retryable = false): ModelcarError {
    return new ModelcarError('REGISTRY_AUTH_FAILED', `authentication with \`${host}\` failed: ${why}`, { retryable })
  },
}
