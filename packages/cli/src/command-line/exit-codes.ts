// The CLI's exit codes: 0 done, 1 the run failed, 2 the input (recipe, arguments) is wrong.
import type { ModelcarError } from '@modelcar/core'

export const EXIT_RUN_FAILED = 1
export const EXIT_BAD_INPUT = 2

export function exitCodeOf(err: ModelcarError): number {
  return err.input ? EXIT_BAD_INPUT : EXIT_RUN_FAILED
}
