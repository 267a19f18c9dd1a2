// Loads a recipe: YAML with positions, `${VAR}` expansion, `--set` overrides, the recipe schema,
// then each component's own schema. Every problem is collected and reported at once, each with
// file:line:col, before any I/O happens.
import fs from 'node:fs/promises'
import path from 'node:path'
import { Value } from '@sinclair/typebox/value'
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml'
import type { Component, ComponentKind } from '../components/define.js'
import type { ComponentRegistry } from '../components/registry.js'
import { errors, type Diagnostic, type SourceLocation } from '../errors.js'
import type { Compression } from '../layer/layer-encoder.js'
import { expandEnv } from './expand-env.js'
import { API_VERSION, RecipeSchema } from './recipe-schema.js'
import { closest, describeSchemaErrors, pathLabel, showValue } from './schema-errors.js'

export type BaseRef =
  | { kind: 'scratch' }
  | { kind: 'oci-layout'; path: string; tag: string | undefined }
  | { kind: 'registry'; ref: string }

export interface ComponentEntry {
  kind: ComponentKind
  type: string
  component: Component
  /** The config as validated, defaults applied, `type` removed. */
  config: Record<string, unknown>
  location: SourceLocation | undefined
}

export interface Recipe {
  file: string
  /** Relative paths in the recipe are resolved against this folder. */
  dir: string
  base: BaseRef
  baseText: string
  platforms: string[]
  sources: ComponentEntry[]
  transforms: ComponentEntry[]
  sinks: ComponentEntry[]
  image: { prefix: string; compression: Compression }
}

/** Finds a component that is not in the registry (a plugin package); undefined when there is none. */
export type ComponentResolver = (kind: ComponentKind, type: string, fromDir: string) => Promise<Component | undefined>

export interface LoadRecipeOptions {
  registry: ComponentRegistry
  env?: Readonly<Record<string, string | undefined>>
  /** `key.path=value` overrides (`--set`), applied after expansion. */
  overrides?: string[]
  resolve?: ComponentResolver
}

const KIND_OF_LIST = { sources: 'source', transforms: 'transform', sinks: 'sink' } as const

export async function loadRecipe(file: string, opts: LoadRecipeOptions): Promise<Recipe> {
  let text: string
  try {
    text = await fs.readFile(file, 'utf8')
  } catch {
    throw errors.argumentInvalid(`recipe \`${file}\` cannot be read`, 'give the path of a recipe file; `modelcar init` writes a starter one')
  }
  return parseRecipe(text, file, opts)
}

export async function parseRecipe(text: string, file: string, opts: LoadRecipeOptions): Promise<Recipe> {
  const env = opts.env ?? {}
  const diags: Diagnostic[] = []
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true })
  const at = (offset: number): SourceLocation => {
    const { line, col } = lines.linePos(offset)
    return { file, line, col }
  }

  for (const e of doc.errors) diags.push({ location: at(e.pos[0]), message: `YAML: ${e.message.split('\n')[0]}`, hint: 'check indentation and quoting' })
  if (diags.length) throw errors.recipeInvalid(file, diags)
  if (!isMap(doc.contents)) {
    throw errors.recipeInvalid(file, [{ location: at(0), message: 'a recipe is a mapping of fields', hint: `start with \`apiVersion: ${API_VERSION}\`; \`modelcar init\` writes a starter recipe` }])
  }

  // ${VAR} expansion, scalar by scalar, so errors point at the scalar.
  const expanded = new Set<string>()
  visit(doc, {
    Scalar(_key, node, ancestry) {
      if (typeof node.value !== 'string' || !node.value.includes('$')) return
      const x = expandEnv(node.value, env)
      const loc = node.range ? at(node.range[0]) : undefined
      for (const name of x.missing) diags.push({ location: loc, message: `environment variable \`${name}\` is not set`, hint: `set it, or give a default: \`\${${name}:-value}\`` })
      for (const bad of x.malformed) diags.push({ location: loc, message: `\`${bad}\` is not a variable reference`, hint: 'write `${NAME}` or `${NAME:-default}`; `$${` is a literal `${`' })
      if (x.expanded) expanded.add(jsonPathOf(ancestry, node).join('/'))
      node.value = x.value
    },
  })

  const overridden = new Set<string>()
  for (const o of opts.overrides ?? []) {
    const eq = o.indexOf('=')
    if (eq <= 0) throw errors.argumentInvalid(`\`--set ${o}\` is not key=value`, 'e.g. `--set image.compression=gzip` or `--set sources.0.revision=v1.0`')
    const keyPath = o.slice(0, eq).split('.').map((s) => (/^\d+$/.test(s) ? Number(s) : s))
    const raw = o.slice(eq + 1)
    const parsed = parseDocument(raw).toJS() as unknown
    doc.setIn(keyPath, doc.createNode(parsed ?? raw))
    overridden.add(keyPath.join('/'))
  }

  const locate = (p: (string | number)[], atKey = false): SourceLocation | undefined => {
    const off = offsetOf(doc, p, atKey)
    return off === undefined ? undefined : at(off)
  }
  const show = (p: (string | number)[], value: unknown): string => {
    const key = p.join('/')
    if (expanded.has(key)) return '(a value from the environment)'
    if (isSecretPath(p)) return '(secret)'
    return showValue(value)
  }
  const note = (p: (string | number)[]) => (overridden.has(p.join('/')) ? ' (from --set)' : '')

  const value = doc.toJS() as Record<string, unknown>
  const top = Value.Default(RecipeSchema, structuredClone(value)) as Record<string, unknown>
  for (const prob of describeSchemaErrors(Value.Errors(RecipeSchema, top), show)) {
    // Component entries are checked below against their own schema.
    if (prob.path.length >= 3 && String(prob.path[0]) in KIND_OF_LIST) continue
    diags.push({ location: locate(prob.path, prob.atKey), message: prob.message + note(prob.path), hint: prob.hint })
  }

  const dir = path.dirname(path.resolve(file))
  const lists: Record<keyof typeof KIND_OF_LIST, ComponentEntry[]> = { sources: [], transforms: [], sinks: [] }
  for (const listName of Object.keys(KIND_OF_LIST) as (keyof typeof KIND_OF_LIST)[]) {
    const kind = KIND_OF_LIST[listName]
    const list = value[listName]
    if (!Array.isArray(list)) continue
    for (const [i, raw] of list.entries()) {
      const here = [listName, i]
      if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
        diags.push({ location: locate(here), message: `${pathLabel(here)}: expected a mapping with a \`type\``, hint: `e.g. \`- type: ${kind === 'source' ? 'local' : kind === 'sink' ? 'oci-layout' : 'annotate'}\`` })
        continue
      }
      const { type, ...config } = raw as Record<string, unknown>
      if (typeof type !== 'string' || !type) {
        diags.push({ location: locate(here), message: `${pathLabel(here)} has no \`type\``, hint: officialHint(opts.registry, kind) })
        continue
      }
      const component = opts.registry.get(kind, type) ?? (await opts.resolve?.(kind, type, dir))
      if (!component) {
        const guess = closest(type, opts.registry.list(kind).map((c) => c.type))
        diags.push({
          location: locate([...here, 'type']),
          message: `unknown ${kind} \`${type}\`${guess ? ` (did you mean \`${guess}\`?)` : ''}`,
          hint: `${officialHint(opts.registry, kind)}; a plugin is installed with \`npm install ${pluginPackageName(kind, type)}\``,
        })
        continue
      }
      const withDefaults = Value.Default(component.schema, structuredClone(config)) as Record<string, unknown>
      const secretShow = (p: (string | number)[], v: unknown) => (isSecretField(component, p.slice(2)) ? '(secret)' : show(p, v))
      const probs = describeSchemaErrors(Value.Errors(component.schema, withDefaults), secretShow, here)
      for (const prob of probs) diags.push({ location: locate(prob.path, prob.atKey), message: `[${type}] ${prob.message}${note(prob.path)}`, hint: prob.hint })
      if (probs.length === 0) lists[listName].push({ kind, type, component, config: withDefaults, location: locate(here) })
    }
  }

  const baseText = typeof top.base === 'string' ? top.base : 'scratch'
  const base = parseBaseRef(baseText, dir)
  if (!base) diags.push({ location: locate(['base']), message: `base ${showValue(baseText)} is not a base image reference`, hint: 'write `scratch`, `oci-layout:PATH[:TAG]` or `registry:HOST/REPO[:TAG]`' })
  if (value.platforms !== undefined && base && base.kind !== 'scratch') {
    diags.push({ location: locate(['platforms'], true), message: '`platforms` applies only to `base: scratch`', hint: 'a base image brings its own platforms; remove `platforms`' })
  }

  if (diags.length) {
    diags.sort((a, b) => (a.location?.line ?? 0) - (b.location?.line ?? 0) || (a.location?.col ?? 0) - (b.location?.col ?? 0))
    throw errors.recipeInvalid(file, diags)
  }
  const image = (top.image ?? {}) as { prefix?: string; compression?: Compression }
  return {
    file,
    dir,
    base: base!,
    baseText,
    platforms: (top.platforms as string[] | undefined) ?? ['linux/amd64'],
    sources: lists.sources,
    transforms: lists.transforms,
    sinks: lists.sinks,
    image: { prefix: image.prefix ?? '/models', compression: image.compression ?? 'none' },
  }
}

/** `scratch`, `oci-layout:PATH[:TAG]`, `registry:REF`; undefined when it is none of these. */
export function parseBaseRef(text: string, dir: string): BaseRef | undefined {
  if (text === 'scratch') return { kind: 'scratch' }
  if (text.startsWith('oci-layout:')) {
    const { path: p, tag } = splitLayoutRef(text.slice('oci-layout:'.length))
    return p ? { kind: 'oci-layout', path: path.resolve(dir, p), tag } : undefined
  }
  if (text.startsWith('registry:') && text.length > 'registry:'.length) return { kind: 'registry', ref: text.slice('registry:'.length) }
  return undefined
}

const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/

/** `./out:latest` → path `./out`, tag `latest`; a last `:` part that is not a tag stays in the path. */
export function splitLayoutRef(ref: string): { path: string; tag: string | undefined } {
  const i = ref.lastIndexOf(':')
  if (i > 0) {
    const tag = ref.slice(i + 1)
    if (TAG_RE.test(tag)) return { path: ref.slice(0, i), tag }
  }
  return { path: ref, tag: undefined }
}

export function pluginPackageName(kind: ComponentKind, type: string): string {
  return type.startsWith('@') || type.includes('/') || type.startsWith('modelcar-') ? type : `modelcar-${kind}-${type}`
}

function officialHint(registry: ComponentRegistry, kind: ComponentKind): string {
  return `${kind}s available: ${registry.list(kind).map((c) => `\`${c.type}\``).join(', ')}`
}

function isSecretField(component: Component, p: (string | number)[]): boolean {
  let schema: unknown = component.schema
  for (const seg of p) {
    const props = (schema as { properties?: Record<string, unknown> } | undefined)?.properties
    schema = typeof seg === 'string' ? props?.[seg] : (schema as { items?: unknown } | undefined)?.items
  }
  return !!(schema as { secret?: boolean } | undefined)?.secret
}

/** Field names that hold secrets in any component (masked even before the component is known). */
function isSecretPath(p: (string | number)[]): boolean {
  const last = p[p.length - 1]
  return typeof last === 'string' && /token|password|secret|credential/i.test(last)
}

function jsonPathOf(ancestry: readonly unknown[], node: unknown): (string | number)[] {
  const out: (string | number)[] = []
  const chain = [...ancestry, node]
  for (let i = 0; i < chain.length; i++) {
    const cur = chain[i]
    const next = chain[i + 1]
    if (isSeq(cur) && next !== undefined) out.push(cur.items.indexOf(next as Node))
    else if (isPair(cur) && next === cur.value) out.push(String(isScalar(cur.key) ? cur.key.value : cur.key))
  }
  return out
}

function offsetOf(doc: Document, p: (string | number)[], atKey: boolean): number | undefined {
  let node: unknown = doc.contents
  let offset = (node as Node | null)?.range?.[0]
  for (let i = 0; i < p.length; i++) {
    const seg = p[i]
    if (isMap(node)) {
      const pair = node.items.find((it) => isScalar(it.key) && String(it.key.value) === String(seg))
      if (!pair) return offset
      const keyOff = (pair.key as Node).range?.[0]
      if (i === p.length - 1 && atKey) return keyOff ?? offset
      node = pair.value
      offset = (node as Node | null)?.range?.[0] ?? keyOff ?? offset
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg]
      if (!item) return offset
      node = item
      offset = (item as Node).range?.[0] ?? offset
    } else return offset
  }
  return offset
}
