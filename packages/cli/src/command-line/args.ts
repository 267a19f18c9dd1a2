// How the command line spells values: `k=v` pairs of repeated options, `--set` overrides of
// recipe fields, whole numbers. Mistakes are ARGUMENT_INVALID errors (exit 2).
import { errors, type Override } from '@modelcar/core'

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

/** `--NAME N` as a positive whole number; undefined when the option was not given. */
export function positiveInteger(text: string | undefined, flag: string, usage: string): number | undefined {
  if (text === undefined) return undefined
  const n = Number(text)
  if (!(Number.isInteger(n) && n >= 1))
    throw errors.argumentInvalid(`--${flag} \`${text}\` is not a positive whole number`, `usage: modelcar ${usage}`)
  return n
}
