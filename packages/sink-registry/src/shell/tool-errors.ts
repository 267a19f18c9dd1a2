// The shell-out sinks' errors: a tool that is not installed, or that failed.
import { ModelcarError } from '@modelcar/core'

export const toolErrors = {
  /** A program a component shells out to is not installed. Not bad input: the machine lacks it. */
  toolMissing(tool: string, install: string): ModelcarError {
    return new ModelcarError('TOOL_MISSING', `\`${tool}\` is not installed (or not on PATH)`, { hint: install })
  },
  toolFailed(command: string, status: string, output: string, hint?: string): ModelcarError {
    const tail = output.trim().split('\n').slice(-6).join('\n    ')
    return new ModelcarError('TOOL_FAILED', `\`${command}\` ${status}${tail ? `:\n    ${tail}` : ''}`, { hint })
  },
}
