// Argument parsing for every command: node:util parseArgs, with mistakes turned into exit-2 errors.
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { errors, type Override } from '@modelcar/core'

export type Options = NonNullable<ParseArgsConfig['options']>

export interface Parsed {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>
  positionals: string[]
}

export function parse(argv: string[], options: Options, usage: string): Parsed {
  try {
    return parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    }) as Parsed
  } catch (err) {
    throw errors.argumentInvalid((err as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ''), `usage: modelcar ${usage}`)
  }
}

/** `k=v` pairs of repeated options such as --annotation. */
export function keyValues(list: string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const item of list ?? []) {
    const eq = item.indexOf('=')
    if (eq <= 0)
      throw errors.argumentInvalid(`\`--${flag} ${item}\` is not key=value`, `e.g. --${flag} org.opencontainers.image.licenses=Apache-2.0`)
    out[item.slice(0, eq)] = item.slice(eq + 1)
  }
  return out
}

/** `--set KEY=VALUE` arguments as recipe overrides; each names its `--set` in messages. */
export function setOverrides(list: string[] | undefined): Override[] {
  return (list ?? []).map((arg) => {
    const eq = arg.indexOf('=')
    if (eq <= 0)
      throw errors.argumentInvalid(
        `\`--set ${arg}\` is not key=value`,
        'e.g. `--set image.compression=gzip` or `--set sources.0.path=./other`',
      )
    const key = arg.slice(0, eq)
    return { key, value: arg.slice(eq + 1), label: `\`--set ${key}\`` }
  })
}

/** Typed reads of parsed option values. */
export const opt = {
  str: (p: Parsed, name: string): string | undefined => (typeof p.values[name] === 'string' ? (p.values[name] as string) : undefined),
  list: (p: Parsed, name: string): string[] | undefined => (Array.isArray(p.values[name]) ? (p.values[name] as string[]) : undefined),
  flag: (p: Parsed, name: string): boolean => p.values[name] === true,
}
