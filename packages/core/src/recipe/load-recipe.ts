// Loads a recipe: YAML with positions, `${VAR}` expansion, overrides, the recipe schema, then
// each component's own schema. Every problem is collected and reported at once, each with
// file:line:col, before any I/O happens.
import fs from 'node:fs/promises'
import path from 'node:path'
import { Value } from '@sinclair/typebox/value'
import { isMap, isSeq, parseDocument, visit } from 'yaml'
import type { ComponentKind } from '../contract/component.js'
import type { ComponentRegistry } from '../contract/registry.js'
import { errors } from '../errors/core-errors.js'
import type { Diagnostic } from '../errors/diagnostic.js'
import { checkBase } from './base-entry.js'
import { checkEntry, type ComponentEntry, type ComponentResolver, type EntryContext } from './component-entries.js'
import { checkImageOptions, imageOptionsOf, type RecipeImage } from './image-options.js'
import { expandEnv } from './expand-env.js'
import { applyOverride, type Override } from './overrides.js'
import { API_VERSION, RecipeSchema, type AttachOptions, type SignOptions } from './recipe-schema.js'
import { RecipeProblems } from './recipe-problems.js'
import { describeSchemaErrors, showValue } from './schema-errors.js'
import { jsonPathOf, YamlDocument } from './yaml-document.js'

export type { ComponentEntry, ComponentResolver, ResolvedComponent } from './component-entries.js'
export type { Override } from './overrides.js'

export interface Recipe {
  file: string
  /** Relative paths in the recipe are resolved against this folder. */
  dir: string
  base: ComponentEntry<'base'>
  /** The base as the recipe wrote it, for messages: `registry:quay.io/org/busybox:1.36`. */
  baseText: string
  platforms: string[]
  sources: ComponentEntry<'source'>[]
  transforms: ComponentEntry<'transform'>[]
  sinks: ComponentEntry<'sink'>[]
  image: RecipeImage
  /** Documents attached to the image as referrers (SBOM, provenance). */
  attach?: AttachOptions
  /** How the image is signed. */
  sign?: SignOptions
}

export interface LoadRecipeOptions {
  registry: ComponentRegistry
  env?: Readonly<Record<string, string | undefined>>
  /** Fields set from outside the file, applied after expansion. */
  overrides?: Override[]
  /** Finds plugin components. Without one, only registered components are known. */
  resolver?: ComponentResolver
}

const KIND_OF_LIST = { sources: 'source', transforms: 'transform', sinks: 'sink' } as const

/** Reads and checks a recipe file. A file that cannot be read is an ARGUMENT_INVALID. */
export async function loadRecipe(file: string, opts: LoadRecipeOptions): Promise<Recipe> {
  let text: string
  try {
    text = await fs.readFile(file, 'utf8')
  } catch (err) {
    throw errors.argumentInvalid(
      `recipe \`${file}\` cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      'give the path of a recipe file',
    )
  }
  return parseRecipe(text, file, opts)
}

export async function parseRecipe(text: string, file: string, opts: LoadRecipeOptions): Promise<Recipe> {
  const yaml = new YamlDocument(text, file)
  const syntax = yaml.syntaxProblems()
  if (syntax.length) throw errors.recipeInvalid(file, syntax)
  if (!isMap(yaml.doc.contents)) throw errors.recipeInvalid(file, [notAMapping(yaml)])
  const problems = new RecipeProblems(yaml)
  expandVariables(yaml, problems, opts.env ?? {})
  const result = await checkRecipe(yaml, problems, opts)
  if ('problems' in result) throw errors.recipeInvalid(file, result.problems)
  return result.recipe
}

/**
 * Checks a recipe document whose variables are expanded: overrides, the recipe schema, every
 * component. Its problems, or the recipe. A catalogue runs it on each model's merged document.
 */
export async function checkRecipe(
  yaml: YamlDocument,
  problems: RecipeProblems,
  opts: LoadRecipeOptions,
): Promise<{ recipe: Recipe } | { problems: Diagnostic[] }> {
  const file = yaml.file
  for (const o of opts.overrides ?? []) problems.overriddenAt(applyOverride(yaml.doc, o), o)

  const data = yaml.toData()
  if ('problem' in data) return { problems: [data.problem] }
  const value = data.value as Record<string, unknown>
  const top = Value.Default(RecipeSchema, structuredClone(value)) as Record<string, unknown>
  checkTopLevel(top, problems)

  const dir = path.dirname(path.resolve(file))
  const c: EntryContext = { registry: opts.registry, resolver: opts.resolver, dir, problems }
  const sources = await checkList('sources', value.sources, c)
  const transforms = await checkList('transforms', value.transforms, c)
  const sinks = await checkList('sinks', value.sinks, c)
  const base = await checkBase(top.base, c)
  if (value.platforms !== undefined && base.entry && base.entry.type !== 'scratch') {
    problems.at(
      ['platforms'],
      '`platforms` applies only to `base: scratch`',
      'a base image brings its own platforms; remove `platforms`',
      true,
    )
  }

  checkImageOptions(value.image, { baseType: base.entry?.type, platforms: value.platforms !== undefined }, problems)
  checkSign(top.sign, problems)

  if (problems.list.length) return { problems: problems.sorted() }
  const recipe: Recipe = {
    file,
    dir,
    base: base.entry!,
    baseText: base.text,
    platforms: (top.platforms as string[] | undefined) ?? ['linux/amd64'],
    sources,
    transforms,
    sinks,
    image: imageOptionsOf(top.image),
    ...(top.attach ? { attach: top.attach as AttachOptions } : {}),
    ...(top.sign ? { sign: top.sign as SignOptions } : {}),
  }
  return { recipe }
}

/** `sign:` names one way to sign: a key or keyless. */
function checkSign(sign: unknown, problems: RecipeProblems): void {
  if (!sign || typeof sign !== 'object') return
  const s = sign as SignOptions
  if (s.key !== undefined && s.keyless)
    problems.at(['sign', 'keyless'], '`sign` names a `key` and `keyless: true`', 'sign one way: remove `key` or `keyless`', true)
  else if (s.key === undefined && !s.keyless)
    problems.at(['sign'], '`sign` names no way to sign', 'give `key: ./cosign.key` (a key file) or `keyless: true` (Sigstore)')
}

function notAMapping(yaml: YamlDocument) {
  const contents = yaml.doc.contents
  const got = isSeq(contents) ? 'a list' : contents === null ? 'nothing' : `the value ${showValue(yaml.doc.toJS())}`
  return {
    location: yaml.at(contents?.range?.[0] ?? 0),
    message: `a recipe is a mapping of fields, but this file holds ${got}`,
    hint: `start with \`apiVersion: ${API_VERSION}\`, then \`sources:\` and \`sinks:\``,
  }
}

/** `${VAR}` expansion, scalar by scalar, so a problem points at its scalar. */
export function expandVariables(yaml: YamlDocument, problems: RecipeProblems, env: Readonly<Record<string, string | undefined>>): void {
  visit(yaml.doc, {
    Scalar(_key, node, ancestry) {
      if (typeof node.value !== 'string' || !node.value.includes('$')) return
      const x = expandEnv(node.value, env)
      const location = node.range ? yaml.at(node.range[0]) : undefined
      for (const name of x.missing) {
        problems.push({
          location,
          message: `environment variable \`${name}\` is not set`,
          hint: `set it, or give a default: \`\${${name}:-value}\``,
        })
      }
      for (const bad of x.malformed) {
        problems.push({
          location,
          message: `\`${bad}\` is not a variable reference`,
          hint: 'write `${NAME}` or `${NAME:-default}` (a name is letters, digits and `_`, not starting with a digit); `$${` is a literal `${`',
        })
      }
      const p = jsonPathOf(ancestry, node).join('/')
      if (x.expanded) problems.expanded.add(p)
      // The schema's complaint about what a bad reference left (an empty path) would be a second
      // message for the same mistake.
      if (x.missing.length || x.malformed.length) problems.envFailed.add(p)
      node.value = x.value
    },
  })
}

/** The recipe's own fields; component entries and `base` are checked on their own, with more to say. */
function checkTopLevel(top: Record<string, unknown>, problems: RecipeProblems): void {
  for (const prob of describeSchemaErrors(Value.Errors(RecipeSchema, top), (p, v) => problems.show(p, v))) {
    if (prob.path.length >= 2 && String(prob.path[0]) in KIND_OF_LIST) continue
    if (prob.path[0] === 'base' && (typeof top.base === 'string' || (typeof top.base === 'object' && top.base !== null))) continue
    if (problems.reported(prob.path)) continue
    problems.at(prob.path, prob.message, prob.hint, prob.atKey)
  }
}

async function checkList<L extends keyof typeof KIND_OF_LIST>(
  listName: L,
  list: unknown,
  c: EntryContext,
): Promise<ComponentEntry<(typeof KIND_OF_LIST)[L]>[]> {
  const out: ComponentEntry<(typeof KIND_OF_LIST)[L]>[] = []
  if (!Array.isArray(list)) return out
  for (const [i, raw] of list.entries()) {
    const entry = await checkEntry(KIND_OF_LIST[listName], raw, [listName, i], c)
    if (entry) out.push(entry)
  }
  return out
}

/**
 * The components a recipe names, by kind, as written (`local`, `http`, `@acme/modelcar-source-gcs`);
 * whatever else is wrong with the recipe. `modelcar schema RECIPE` resolves them to add their schemas.
 */
export function namedComponents(text: string): { kind: ComponentKind; type: string }[] {
  const doc = parseDocument(text, { prettyErrors: false })
  let value: unknown
  try {
    value = doc.toJS({ maxAliasCount: 1000 })
  } catch {
    return []
  }
  if (!value || typeof value !== 'object') return []
  const out: { kind: ComponentKind; type: string }[] = []
  const add = (kind: ComponentKind, type: unknown) => {
    if (typeof type === 'string' && type && !out.some((o) => o.kind === kind && o.type === type)) out.push({ kind, type })
  }
  // A catalogue names components in its template and in each model, as a recipe does at its top.
  const v = value as Record<string, unknown>
  const models = Array.isArray(v.models) ? (v.models as Record<string, unknown>[]) : []
  const scopes = [v, (v.template ?? {}) as Record<string, unknown>, ...models.map((m) => (m && typeof m === 'object' ? m : {}))]
  for (const scope of scopes) {
    for (const [listName, kind] of Object.entries(KIND_OF_LIST)) {
      const list = scope[listName]
      if (Array.isArray(list)) for (const entry of list) add(kind, (entry as { type?: unknown } | null)?.type)
    }
    add('source', (scope.source as { type?: unknown } | null | undefined)?.type)
    const base = scope.base
    if (typeof base === 'string') add('base', base.split(':')[0])
    else if (base && typeof base === 'object') add('base', (base as { type?: unknown }).type)
  }
  return out
}
