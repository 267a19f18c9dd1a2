// modelcar: package ML models as OCI images. Dispatches to one command; exit codes 0 done,
// 1 the run failed, 2 the input (recipe, arguments) is wrong.
import { errors } from '@modelcar/core'
import type { Command } from './command-line/define-command.js'
import { EXIT_BAD_INPUT, EXIT_DONE } from './command-line/exit-codes.js'
import { Output } from './command-line/output.js'
import { addCommand } from './commands/add.js'
import { docsCommand } from './commands/docs.js'
import { initCommand } from './commands/init.js'
import { mirrorCommand } from './commands/mirror.js'
import { inspectCommand } from './commands/inspect.js'
import { runCommand } from './commands/run.js'
import { schemaCommand } from './commands/schema.js'
import { validateCommand } from './commands/validate.js'
import { verifyCommand } from './commands/verify.js'
import { VERSION } from './version.js'

export const COMMANDS: readonly Command[] = [
  runCommand,
  mirrorCommand,
  validateCommand,
  addCommand,
  inspectCommand,
  verifyCommand,
  schemaCommand,
  initCommand,
  docsCommand,
]

export function usage(): string {
  return [
    'modelcar: package machine-learning models as OCI images, streaming.',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(9)} ${c.summary}\n            modelcar ${c.usage}`),
    '',
    'Run `modelcar COMMAND --help` for its options. Exit codes: 0 done, 1 the run failed, 2 the input is wrong.',
  ].join('\n')
}

/** Runs `modelcar ARGV` and resolves to its exit code; what it prints goes to stdout and stderr. */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [name, ...rest] = argv
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`)
    return name ? EXIT_DONE : EXIT_BAD_INPUT
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${VERSION}\n`)
    return EXIT_DONE
  }
  const command = COMMANDS.find((c) => c.name === name)
  if (!command) {
    new Output(false, env).error(
      errors.argumentInvalid(`unknown command \`${name}\``, `commands: ${COMMANDS.map((c) => c.name).join(', ')}`),
    )
    return EXIT_BAD_INPUT
  }
  return command.run(rest, env)
}
