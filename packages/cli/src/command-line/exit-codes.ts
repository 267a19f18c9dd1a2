// The CLI's exit codes: 0 done, 1 the run failed, 2 the input (recipe, arguments) is wrong. Core
// knows nothing of them: it marks bad input on the error (`input`), and this is where that becomes
// a number.
import { isModelcarError } from '@modelcar/core'

export const EXIT_DONE = 0
export const EXIT_RUN_FAILED = 1
export const EXIT_BAD_INPUT = 2

/** The exit code for what a command threw: bad input 2, anything else (a bug too) 1. */
export function exitCodeOf(err: unknown): number {
  return isModelcarError(err) && err.input ? EXIT_BAD_INPUT : EXIT_RUN_FAILED
}
