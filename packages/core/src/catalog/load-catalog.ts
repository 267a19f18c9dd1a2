// Loads a catalogue (`kind: Catalog`): many models sharing one template of recipe fields. Each
// model's recipe is the template with the model's source and overrides, its placeholders filled
// (`{name}`, `{repo}`, `{revision}`, `{tag}`, and `{commit}` once the source has resolved it),
// checked by the recipe checker with the catalogue's own positions: every problem of every model
// is reported at once, with file:line:col, before any byte moves.
import fs from 'node:fs/promises'
import { Value } from '@sinclair/typebox/value'
import { Document, isMap, isNode, isSeq, YAMLMap, YAMLSeq, type Node } from 'yaml'
import type { Diagnostic } from '../errors/diagnostic.js'
import { errors } from '../errors/core-errors.js'
import { checkRecipe, expandVariables, type LoadRecipeOptions, type Recipe } from '../recipe/load-recipe.js'
import { RecipeProblems } from '../recipe/recipe-problems.js'
import { describeSchemaErrors } from '../recipe/schema-errors.js'
import { YamlDocument } from '../recipe/yaml-document.js'
import { CatalogSchema } from './catalog-schema.js'
import { varsOf, type ModelVars } from './model-names.js'
import { fillPlaceholders } from './placeholders.js'

export interface CatalogModel {
  name: string
  /** Its place in the catalogue (shards are dealt by it). */
  index: number
  /** The source as a person reads it: `hf ibm-granite/granite-3.1-2b-instruct@main`. */
  label: string
  /** Whether a ref uses `{commit}`: the source must resolve its revision before the sinks exist. */
  usesCommit: boolean
  /** The model's recipe; with `commit`, `{commit}` is filled (and is `unresolved` without it). */
  recipe(vars?: { commit?: string }): Promise<Recipe>
}

export interface Catalog {
  file: string
  models: CatalogModel[]
}

/** Whether a YAML text is a catalogue rather than a recipe (`kind: Catalog`). */
export function isCatalogText(text: string): boolean {
  return /^kind:\s*["']?Catalog["']?\s*$/m.test(text)
}

export async function loadCatalog(file: string, opts: LoadRecipeOptions): Promise<Catalog> {
  let text: string
  try {
    text = await fs.readFile(file, 'utf8')
  } catch (err) {
    throw errors.argumentInvalid(
      `catalogue \`${file}\` cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      'give the path of a catalogue file',
    )
  }
  return parseCatalog(text, file, opts)
}

export async function parseCatalog(text: string, file: string, opts: LoadRecipeOptions): Promise<Catalog> {
  const yaml = new YamlDocument(text, file)
  const syntax = yaml.syntaxProblems()
  if (syntax.length) throw errors.recipeInvalid(file, syntax, 'catalogue')
  const structure = structureProblems(yaml)
  // A mistake in the catalogue's own fields does not hide the models' problems: every model whose
  // entry is sound is checked too, and what it says again of a place already reported is dropped.
  const models = checkableModels(yaml)
  if (!models) throw errors.recipeInvalid(file, structure, 'catalogue')
  const checked = await Promise.all(models.map((item, i) => (isSoundModel(item) ? checkModel(yaml, i, opts, {}) : undefined)))
  const names = new Map<string, number>()
  const reported = new Set(structure.map(placeOf))
  const problems: Diagnostic[] = [...structure]
  for (const [i, c] of checked.entries()) {
    if (!c) continue
    problems.push(...c.problems.filter((d) => !reported.has(placeOf(d))))
    const first = names.get(c.vars.name)
    if (first !== undefined)
      problems.push({
        location: yaml.at(offsetOf(models[i]!)),
        message: `models[${i}] and models[${first}] are both named \`${c.vars.name}\``,
        hint: 'give one of them a `name:`',
      })
    else names.set(c.vars.name, i)
  }
  // An entry not checked is one the catalogue's own check has a problem with.
  const ready = checked.filter((c): c is Checked => c !== undefined)
  if (problems.length || ready.length < checked.length) throw errors.recipeInvalid(file, dedupe(problems), 'catalogue')
  return {
    file,
    models: ready.map((c, index) => ({
      name: c.vars.name,
      index,
      label: c.label,
      usesCommit: c.usesCommit,
      recipe: async (vars = {}) => {
        const again = await checkModel(yaml, index, opts, vars)
        if (!again.recipe) throw errors.recipeInvalid(file, dedupe(again.problems), 'catalogue')
        return again.recipe
      },
    })),
  }
}

interface Checked {
  vars: ModelVars
  label: string
  usesCommit: boolean
  recipe: Recipe | undefined
  problems: Diagnostic[]
}

/** One model: its merged document, variables expanded, placeholders filled, then the recipe checks. */
async function checkModel(catalog: YamlDocument, index: number, opts: LoadRecipeOptions, given: { commit?: string }): Promise<Checked> {
  const yaml = new YamlDocument(catalog.text, catalog.file, { doc: mergedDocument(catalog, index), positions: catalog })
  const problems = new RecipeProblems(yaml)
  expandVariables(yaml, problems, opts.env ?? {})
  const source = (yaml.doc.getIn(['sources', 0]) as YAMLMap | undefined)?.toJSON() as Record<string, unknown> | undefined
  const explicit = ((catalog.doc.contents as YAMLMap).getIn(['models', index, 'name']) as string | undefined) ?? undefined
  const vars = varsOf(source ?? {}, typeof explicit === 'string' ? explicit : undefined)
  const tags = ((catalog.doc.contents as YAMLMap).getIn(['models', index, 'tags']) as YAMLSeq | undefined)?.toJSON() as string[] | undefined
  const filled = fillPlaceholders(yaml, problems, { ...vars, commit: given.commit }, tags, (type) => takesTags(opts, type))
  const result = await checkRecipe(yaml, problems, { ...opts, overrides: [] })
  const prefix = `model \`${vars.name}\`: `
  const label = `${String(source?.type ?? '?')} ${vars.repo}@${vars.revision}`
  if ('recipe' in result) return { vars, label, usesCommit: filled.usesCommit, recipe: result.recipe, problems: [] }
  return {
    vars,
    label,
    usesCommit: filled.usesCommit,
    recipe: undefined,
    problems: result.problems.map((d) => ({ ...d, message: prefix + d.message })),
  }
}

/** Whether sink `type` takes a list of `tags` of its own (then a model's tags share one upload). */
function takesTags(opts: LoadRecipeOptions, type: string): boolean {
  const schema = opts.registry.get('sink', type)?.schema as { properties?: Record<string, { type?: string }> } | undefined
  return schema?.properties?.tags?.type === 'array'
}

/** The template's fields, the model's source as the one entry of `sources`, the model's overrides on top. */
function mergedDocument(catalog: YamlDocument, index: number): Document {
  const root = catalog.doc.contents as YAMLMap
  const template = root.get('template', true)
  const model = (root.get('models', true) as unknown as YAMLSeq).items[index] as YAMLMap
  const map = new YAMLMap()
  const copy = (v: unknown) => (isNode(v) ? v.clone() : v)
  map.set('apiVersion', copy(root.get('apiVersion', true)))
  if (isMap(template)) for (const pair of template.items) map.items.push(pair.clone())
  const sources = new YAMLSeq()
  sources.items.push(copy(model.get('source', true)))
  map.set('sources', sources)
  for (const key of ['base', 'platforms', 'transforms', 'image', 'sinks']) {
    const v = model.get(key, true)
    if (v !== undefined) map.set(key, copy(v))
  }
  const doc = new Document()
  doc.contents = map
  return doc
}

/** The catalogue's own fields; component entries are the recipe checker's. */
function structureProblems(yaml: YamlDocument): Diagnostic[] {
  if (!isMap(yaml.doc.contents))
    return [{ location: yaml.at(0), message: 'a catalogue is a mapping with `apiVersion`, `kind: Catalog`, `template` and `models`' }]
  const data = yaml.toData()
  if ('problem' in data) return [data.problem]
  const problems = new RecipeProblems(yaml)
  const value = Value.Default(CatalogSchema, structuredClone(data.value)) as Record<string, unknown>
  for (const prob of describeSchemaErrors(Value.Errors(CatalogSchema, value), (p, v) => problems.show(p, v))) {
    if (insideComponent(prob.path)) continue
    problems.at(prob.path, prob.message, prob.hint, prob.atKey)
  }
  return problems.sorted()
}

/** Paths inside a component entry or a base: checked per model, against the component's schema. */
function insideComponent(p: (string | number)[]): boolean {
  const [a, b, c, d] = p
  if (a === 'template') return ((b === 'sinks' || b === 'transforms') && typeof c === 'number' && d !== undefined) || b === 'base'
  if (a === 'models' && typeof b === 'number')
    return c === 'source' ? d !== undefined && d !== 'type' : ((c === 'sinks' || c === 'transforms') && p.length > 4) || c === 'base'
  return false
}

function offsetOf(node: unknown): number {
  return (node as Node | undefined)?.range?.[0] ?? 0
}

/** The entries of `models`, when the catalogue is a mapping whose `models` is a list. */
function checkableModels(yaml: YamlDocument): unknown[] | undefined {
  const root = yaml.doc.contents
  if (!isMap(root)) return undefined
  const models = root.get('models', true)
  return isSeq(models) ? models.items : undefined
}

/** A model entry the recipe checker can take: a mapping with a `source` mapping (else its problem is the catalogue's). */
function isSoundModel(item: unknown): boolean {
  return isMap(item) && isMap(item.get('source', true))
}

const placeOf = (d: Diagnostic) => `${d.location?.line}:${d.location?.col}`

/** A template's problem is every model's: said once, for the first model that has it. */
function dedupe(problems: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>()
  const out: Diagnostic[] = []
  for (const d of problems) {
    // The same place and the same words (list positions aside: a sink written once per tag) is one problem.
    const key = `${d.location?.line}:${d.location?.col}:${d.message.replace(/^model `[^`]*`: /, '').replace(/\[\d+\]/g, '[]')}`
    if (seen.has(key)) continue
    seen.add(key)
    out.push(d)
  }
  return out.sort((a, b) => (a.location?.line ?? 0) - (b.location?.line ?? 0) || (a.location?.col ?? 0) - (b.location?.col ?? 0))
}
