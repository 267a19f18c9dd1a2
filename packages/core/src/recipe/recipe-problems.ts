// The problems found in one recipe, each placed in the file: values that came from an override
// point at the key they replaced, values from the environment and secrets are never shown, and a
// value already reported (a bad `${VAR}`) is not reported a second time.
import type { Diagnostic, SourceLocation } from '../errors/diagnostic.js'
import { overrideLabel, type Override } from './overrides.js'
import { showValue } from './schema-errors.js'
import { isSecretPath } from './secret-fields.js'
import type { JsonPath, YamlDocument } from './yaml-document.js'

const key = (p: JsonPath) => p.join('/')

export class RecipeProblems {
  readonly list: Diagnostic[] = []
  /** Values filled in from the environment: never shown. */
  readonly expanded = new Set<string>()
  /** Values already reported as a bad `${VAR}` reference. */
  readonly envFailed = new Set<string>()
  private readonly overridden: { path: JsonPath; override: Override }[] = []

  constructor(readonly yaml: YamlDocument) {}

  overriddenAt(path: JsonPath, override: Override): void {
    this.overridden.push({ path, override })
  }

  /** The override a value comes from, when it does. */
  private overrideOf(p: JsonPath): { path: JsonPath; override: Override } | undefined {
    return this.overridden.findLast((o) => o.path.every((seg, i) => String(seg) === String(p[i])))
  }

  /** Where `p` is in the file (its key with `atKey`); a value from an override points at the key it replaced, or nowhere. */
  locate(p: JsonPath, atKey = false): SourceLocation | undefined {
    const set = this.overrideOf(p)
    const off = set ? this.yaml.keyOffset(set.path) : this.yaml.offset(p, atKey)
    return off === undefined ? undefined : this.yaml.at(off)
  }

  /** The value at `p` as a message may show it. */
  show(p: JsonPath, value: unknown): string {
    if (this.expanded.has(key(p))) return '(a value from the environment)'
    if (isSecretPath(p)) return '(secret)'
    return showValue(value)
  }

  /** ` (from <the override's label>)` when the value at `p` came from an override. */
  note(p: JsonPath): string {
    const set = this.overrideOf(p)
    return set ? ` (from ${overrideLabel(set.override)})` : ''
  }

  /** Whether the value at `p` was already reported (as a bad `${VAR}`). */
  reported(p: JsonPath): boolean {
    return this.envFailed.has(key(p))
  }

  /** A problem with the value at `p`. */
  at(p: JsonPath, message: string, hint?: string, atKey = false): void {
    this.list.push({ location: this.locate(p, atKey), message: message + this.note(p), hint })
  }

  push(d: Diagnostic): void {
    this.list.push(d)
  }

  sorted(): Diagnostic[] {
    return [...this.list].sort(
      (a, b) => (a.location?.line ?? 0) - (b.location?.line ?? 0) || (a.location?.col ?? 0) - (b.location?.col ?? 0),
    )
  }
}
