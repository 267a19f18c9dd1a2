// The components a recipe names: each entry's `type` found (registered, or in a plugin package)
// and its config checked against the component's own schema, with defaults applied. A base may
// also be written short, `TYPE:TEXT`, which its component turns into a config.
import { Value } from '@sinclair/typebox/value'
import type { ComponentKind } from '../contract/component.js'
import type { ComponentOfKind, ComponentRegistry } from '../contract/registry.js'
import type { SourceLocation } from '../errors/diagnostic.js'
import { isModelcarError } from '../errors/modelcar-error.js'
import type { RecipeProblems } from './recipe-problems.js'
import { closest, describeSchemaErrors, pathLabel } from './schema-errors.js'
import { isSecretField } from './secret-fields.js'
import type { JsonPath } from './yaml-document.js'

export interface ComponentEntry<K extends ComponentKind = ComponentKind> {
  kind: K
  type: string
  component: ComponentOfKind<K>
  /** The config as validated, defaults applied, `type` removed. */
  config: Record<string, unknown>
  location: SourceLocation | undefined
  /** The npm package a plugin component came from (undefined for registered components). */
  package?: string
}

/** A component found in an npm package. */
export interface ResolvedComponent {
  component: ComponentOfKind<ComponentKind>
  /** The package's name, and version when it has one: named in messages about its component. */
  package: string
  version?: string
}

/** Finds components that are not registered: plugin packages. The CLI provides one. */
export interface ComponentResolver {
  /**
   * The component of that kind and type from an installed package; undefined when none is
   * installed. A package that is there but holds no usable component throws a ModelcarError
   * saying what is wrong; it becomes one of the recipe's problems.
   */
  resolve(kind: ComponentKind, type: string, fromDir: string): Promise<ResolvedComponent | undefined>
  /** What to do when `type` is found nowhere (the package to install, and where). */
  missingHint(kind: ComponentKind, type: string, fromDir: string): string
  /** Types of the plugins of that kind installed for a recipe in `fromDir`, for hints. */
  installed?(kind: ComponentKind, fromDir: string): string[]
}

export interface EntryContext {
  registry: ComponentRegistry
  resolver: ComponentResolver | undefined
  /** The recipe's folder: plugins are looked up from here. */
  dir: string
  problems: RecipeProblems
}

/** Built-ins every registry has, for examples in hints. */
const EXAMPLE_TYPE: Record<ComponentKind, string> = { source: 'local', transform: 'modelcard', sink: 'oci-layout', base: 'scratch' }

/** One entry of `sources`, `transforms` or `sinks` (or a `base` written as a mapping). */
export async function checkEntry<K extends ComponentKind>(
  kind: K,
  raw: unknown,
  here: JsonPath,
  c: EntryContext,
): Promise<ComponentEntry<K> | undefined> {
  const p = c.problems
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    const got = raw === null || raw === undefined ? 'nothing' : `${Array.isArray(raw) ? 'a list' : `a ${typeof raw}`} ${p.show(here, raw)}`
    p.at(
      here,
      `${pathLabel(here)}: expected a mapping with a \`type\`, got ${got}`,
      `e.g. \`- type: ${EXAMPLE_TYPE[kind]}\` with the ${kind}'s fields below it; ${availableHint(c, kind)}`,
    )
    return undefined
  }
  const { type, ...config } = raw as Record<string, unknown>
  if (typeof type !== 'string' || !type) {
    const what =
      type === undefined
        ? `${pathLabel(here)} has no \`type\``
        : `${pathLabel(here)}.type: expected a component name, got ${p.show([...here, 'type'], type)}`
    p.at(type === undefined ? here : [...here, 'type'], what, `add \`type:\`; ${availableHint(c, kind)}`)
    return undefined
  }
  const found = await findComponent(kind, type, [...here, 'type'], c)
  return found && checkConfig(kind, type, found, config, here, c)
}

type Found<K extends ComponentKind> = { component: ComponentOfKind<K>; package?: string; version?: string }

/** The registered component, or the plugin's; undefined (with a problem) when there is none. */
export async function findComponent<K extends ComponentKind>(
  kind: K,
  type: string,
  at: JsonPath,
  c: EntryContext,
  unknown: { message?: string; hint?: string } = {},
): Promise<Found<K> | undefined> {
  const registered = c.registry.get(kind, type)
  if (registered) return { component: registered }
  let plugin: ResolvedComponent | undefined
  try {
    plugin = await c.resolver?.resolve(kind, type, c.dir)
  } catch (err) {
    // A package that is installed but unusable: said here, with the others, at its `type`.
    if (!isModelcarError(err)) throw err
    c.problems.push({ location: c.problems.locate(at), message: err.message, hint: err.hint })
    return undefined
  }
  if (plugin) return plugin as Found<K>
  const guess = closest(
    type,
    c.registry.list(kind).map((x) => x.type),
  )
  const missing = c.resolver?.missingHint(kind, type, c.dir)
  const message = unknown.message ?? `unknown ${kind} \`${type}\`${guess ? ` (did you mean \`${guess}\`?)` : ''}`
  c.problems.at(at, message, [unknown.hint ?? availableHint(c, kind), missing].filter(Boolean).join('; '))
  return undefined
}

/** The config checked against the component's schema; the entry, or undefined when it has problems. */
export function checkConfig<K extends ComponentKind>(
  kind: K,
  type: string,
  found: Found<K>,
  config: Record<string, unknown>,
  here: JsonPath,
  c: EntryContext,
): ComponentEntry<K> | undefined {
  const p = c.problems
  const from = found.package ? ` (the schema of package \`${found.package}\`${found.version ? ` ${found.version}` : ''})` : ''
  let withDefaults: Record<string, unknown>
  let probs: ReturnType<typeof describeSchemaErrors>
  try {
    withDefaults = Value.Default(found.component.schema, structuredClone(config)) as Record<string, unknown>
    const show = (q: JsonPath, v: unknown) => (isSecretField(found.component, q.slice(here.length)) ? '(secret)' : p.show(q, v))
    probs = describeSchemaErrors(Value.Errors(found.component.schema, withDefaults), show, here)
  } catch (err) {
    // Only a plugin can get here: the schemas we ship are tested.
    p.at(
      [...here, 'type'],
      `[${type}] the config schema of ${found.package ? `package \`${found.package}\`` : `\`${type}\``} cannot check a config: ${(err as Error).message}`,
      'a component schema is a TypeBox `Type.Object({...})` (re-exported by @modelcar/core as `Type`)',
    )
    return undefined
  }
  for (const prob of probs.filter((pr) => !p.reported(pr.path))) {
    p.at(prob.path, `[${type}] ${prob.message}`, prob.hint ? prob.hint + from : from.trim() || undefined, prob.atKey)
  }
  if (probs.length > 0) return undefined
  return {
    kind,
    type,
    component: found.component,
    config: withDefaults,
    location: p.locate(here),
    ...(found.package ? { package: found.package } : {}),
  }
}

/** `sources available: `hf`, `local`, …` and the plugins installed beside the recipe. */
export function availableHint(c: EntryContext, kind: ComponentKind): string {
  const official = c.registry.list(kind).map((x) => `\`${x.type}\``)
  const installed = (c.resolver?.installed?.(kind, c.dir) ?? []).map((t) => `\`${t}\``)
  return `${kind}s available: ${official.join(', ')}${installed.length ? `; installed plugins: ${installed.join(', ')}` : ''}`
}
