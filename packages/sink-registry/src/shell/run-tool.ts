// Runs a program a sink shells out to (skopeo, oras): no shell, the run's environment, output
// kept for the error message. A missing program is an error that says how to install it.
import { toolErrors } from './tool-errors.js'
import { spawn } from 'node:child_process'
import { errors, type ComponentContext } from '@modelcar/core'

export interface Tool {
  /** Program name looked up on the run's PATH. */
  name: string
  /** One line telling how to get it, shown when it is missing. */
  install: string
}

export interface ToolOutput {
  stdout: string
  stderr: string
}

export function runTool(
  tool: Tool,
  args: readonly string[],
  ctx: Pick<ComponentContext, 'env' | 'signal'>,
  hint?: string,
): Promise<ToolOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool.name, args, { env: ctx.env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'], signal: ctx.signal })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (c: Buffer) => out.push(c))
    child.stderr.on('data', (c: Buffer) => err.push(c))
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') reject(toolErrors.toolMissing(tool.name, tool.install))
      else if (e.name === 'AbortError') reject(errors.aborted(ctx.signal.reason))
      else reject(toolErrors.toolFailed(commandLine(tool.name, args), `could not start (${e.message})`, ''))
    })
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out).toString('utf8')
      const stderr = Buffer.concat(err).toString('utf8')
      if (code === 0) resolve({ stdout, stderr })
      else
        reject(
          toolErrors.toolFailed(
            commandLine(tool.name, args),
            signal ? `was killed by ${signal}` : `exited with ${code}`,
            stderr || stdout,
            hint,
          ),
        )
    })
  })
}

/** The command as a person would type it, for messages. Arguments carry no secret: credentials stay in auth files. */
export function commandLine(name: string, args: readonly string[]): string {
  return [name, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(' ')
}
