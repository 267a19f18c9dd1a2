// The errors core raises on purpose: one factory per code, each message short, the offending
// value in backticks, never a secret. Packages above core keep factories of their own codes
// (the registry's, the shell tools') beside the code that raises them.
import type { Diagnostic, SourceLocation } from './diagnostic.js'
import { ModelcarError, optionsOf, type Phase } from './modelcar-error.js'

/** The codes core raises. Plugins add their own: a code is any stable string. */
export type CoreErrorCode =
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
  | 'HTTP_REFUSED'
  | 'HTTP_UNREACHABLE'
  | 'ABORTED'

// ---- factories, one per code -------------------------------------------------------------

export const errors = {
  /** Every problem of a recipe (or a catalogue: `what`), each with its place. */
  recipeInvalid(file: string, diagnostics: Diagnostic[], what: 'recipe' | 'catalogue' = 'recipe'): ModelcarError {
    const n = diagnostics.length
    return new ModelcarError('RECIPE_INVALID', `${file}: ${n} problem${n === 1 ? '' : 's'} in the ${what}`, {
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
  /**
   * Whatever a component's hook threw, as a ModelcarError naming the component and the phase:
   * `[hf] list failed: …`. A ModelcarError keeps its code (a plugin's own too), hint, diagnostics
   * and facts; anything else becomes COMPONENT_FAILED. Already wrapped: returned as it is.
   */
  componentFailed(type: string, phase: Phase, cause: unknown): ModelcarError {
    if (cause instanceof ModelcarError && cause.component) return cause
    if (cause instanceof ModelcarError) {
      return new ModelcarError(cause.code, `[${type}] ${phase} failed: ${cause.message}`, {
        ...optionsOf(cause),
        component: type,
        phase,
        cause,
      })
    }
    const inner = cause instanceof Error ? cause.message : String(cause)
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
  aborted(reason?: unknown): ModelcarError {
    return new ModelcarError('ABORTED', 'the run was cancelled', { cause: reason })
  },
}
