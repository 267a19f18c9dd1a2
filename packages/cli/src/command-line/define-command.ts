// One runner for every command: it parses the arguments, answers `--help`, picks the output
// (`--json` or people), and turns whatever the command throws into a printed error and an exit
// code. A command keeps only its own work.
import { parseArgs } from 'node:util'
import { errors } from '@modelcar/core'
import { EXIT_DONE, exitCodeOf } from './exit-codes.js'
import { Output } from './output.js'

export type Options = NonNullable<Parameters<typeof parseArgs>[0]>['options'] & {}

/** The option values as parseArgs types them for `options` (`--help` included). */
export type Values<O extends Options> = ReturnType<
  typeof parseArgs<{ options: O & { help: { type: 'boolean'; short: 'h' } }; allowPositionals: true; strict: true }>
>['values']

export interface Parsed<O extends Options> {
  values: Values<O>
  positionals: string[]
}

/** What a command's run() gets besides its arguments. */
export interface CommandIO {
  output: Output
  env: NodeJS.ProcessEnv
  /** An ARGUMENT_INVALID error whose hint is this command's usage line. */
  usageError(message: string): Error
}

export interface CommandSpec<O extends Options> {
  name: string
  /** The synopsis after `modelcar `: `run RECIPE [--dry-run] …`. */
  usage: string
  /** One line for `modelcar --help`. */
  summary: string
  /** parseArgs options; a `json` boolean option makes the command speak JSON with `--json`. */
  options: O
  /** The command's work; resolves to the exit code (0 when nothing is returned). What it throws is printed, and exits 1 or 2. */
  run(args: Parsed<O>, io: CommandIO): Promise<number | void>
}

/** A command as main() dispatches it. */
export interface Command {
  name: string
  usage: string
  summary: string
  run(argv: string[], env: NodeJS.ProcessEnv): Promise<number>
}

export function defineCommand<const O extends Options>(spec: CommandSpec<O>): Command {
  const speaksJson = 'json' in spec.options
  return {
    name: spec.name,
    usage: spec.usage,
    summary: spec.summary,
    async run(argv, env) {
      // Until the arguments parse, `--json` anywhere in them decides how a mistake in them is said.
      let output = new Output(speaksJson && argv.includes('--json'), env)
      try {
        const args = parse(argv, spec.options, spec.usage)
        // parseArgs types the values only for concrete options; here they are any command's.
        const values = args.values as { help?: boolean; json?: boolean }
        // Help is for people, with --json too.
        if (values.help) {
          new Output(false, env).print(`usage: modelcar ${spec.usage}`)
          return EXIT_DONE
        }
        output = new Output(speaksJson && values.json === true, env)
        const usageError = (message: string) => errors.argumentInvalid(message, `usage: modelcar ${spec.usage}`)
        return (await spec.run(args, { output, env, usageError })) ?? EXIT_DONE
      } catch (err) {
        output.error(err)
        return exitCodeOf(err)
      }
    },
  }
}

function parse<O extends Options>(argv: string[], options: O, usage: string): Parsed<O> {
  try {
    return parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    }) as Parsed<O>
  } catch (err) {
    throw errors.argumentInvalid((err as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ''), `usage: modelcar ${usage}`)
  }
}
