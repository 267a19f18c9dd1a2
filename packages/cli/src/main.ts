// modelcar: package ML models as OCI images. Dispatches to one command; exit codes 0 done,
// 1 the run failed, 2 the input (recipe, arguments) is wrong.
import { errors } from '@modelcar/core'
import { EXIT_BAD_INPUT } from './exit-codes.js'
import { addCommand } from './commands/add.js'
import { docsCommand } from './commands/docs.js'
import { initCommand } from './commands/init.js'
import { inspectCommand } from './commands/inspect.js'
import { runCommand } from './commands/run.js'
import { schemaCommand } from './commands/schema.js'
import { validateCommand } from './commands/validate.js'
import { Output } from './output.js'
import { VERSION } from './version.js'

export interface Command {
  name: string
  usage: string
  summary: string
  run(argv: string[], env: NodeJS.ProcessEnv): Promise<number>
}

const COMMANDS: Command[] = [runCommand, validateCommand, addCommand, inspectCommand, schemaCommand, initCommand, docsCommand]

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

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [name, ...rest] = argv
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`)
    return name ? 0 : EXIT_BAD_INPUT
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${VERSION}\n`)
    return 0
  }
  const command = COMMANDS.find((c) => c.name === name)
  if (!command) {
    return new Output(false, env).error(
      errors.argumentInvalid(`unknown command \`${name}\``, `commands: ${COMMANDS.map((c) => c.name).join(', ')}`),
    )
  }
  return command.run(rest, env)
}
