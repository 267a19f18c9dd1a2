// Loads a recipe: YAML with positions, `${VAR}` expansion, `--set` overrides, the recipe schema,
// then each component's own schema. Every problem is collected and reported at once, each with
// file:line:col, before any I/O happens.
import fs from 'node:fs/promises'
import path from 'node:path'
import { Value } from '@sinclair/typebox/value'
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml'
import type { Component, ComponentKind } from '../components/define.js'
import type { ComponentRegistry } from '../components/registry.js'
import { errors, isModelcarError, type Diagnostic, type SourceLocation } from '../errors.js'
import type { Compression } from '../layer/layer-encoder.js'
import { expandEnv } from './expand-env.js'
import { API_VERSION, RecipeSchema } from './recipe-schema.js'
import { closest, describeSchemaErrors, pathLabel, showValue } from './schema-errors.js'
import { describeYamlErrors } from './yaml-errors.js'

export type BaseRef =
  { kind: 'scratch' } | { kind: 'oci-layout'; path: string; tag: string | undefined } | { kind: 'registry'; ref: string }

export interface ComponentEntry {
  kind: ComponentKind
  type: string
  component: Component
  /** The config as validated, defaults applied, `type` removed. */
  config: Record<string, unknown>
  location: SourceLocation | undefined
  /** The npm package a plugin component came from (undefined for registered components). */
  package?: string
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

/** A component found in an npm package. */
export interface ResolvedComponent {
  component: Component
  /** The package's name, and version when it has one: named in messages about its component. */
  package: string
  version?: string
}

/**
 * Finds a component that is not in the registry (a plugin package); undefined when no package of
 * that name is installed. A package that is there but holds no usable component throws a
 * ModelcarError saying what is wrong; it becomes one of the recipe's diagnostics.
 */
export type ComponentResolver = (kind: ComponentKind, type: string, fromDir: string) => Promise<ResolvedComponent | undefined>

export interface LoadRecipeOptions {
  registry: ComponentRegistry
  env?: Readonly<Record<string, string | undefined>>
  /** `key.path=value` overrides (`--set`), applied after expansion. */
  overrides?: string[]
  resolve?: ComponentResolver
}

const KIND_OF_LIST = { sources: 'source', transforms: 'transform', sinks: 'sink' } as const
/** Built-ins every registry has, for examples in hints. */
const EXAMPLE_TYPE = { source: 'local', transform: 'modelcard', sink: 'oci-layout' } as const

export async function loadRecipe(file: string, opts: LoadRecipeOptions): Promise<Recipe> {
  let text: string
  try {
    text = await fs.readFile(file, 'utf8')
  } catch {
    throw errors.argumentInvalid(
      `recipe \`${file}\` cannot be read`,
      'give the path of a recipe file; `modelcar init` writes a starter one',
    )
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

  for (const p of describeYamlErrors(doc.errors, doc, text, lines)) diags.push({ location: at(p.offset), message: p.message, hint: p.hint })
  if (diags.length) throw errors.recipeInvalid(file, diags)
  if (!isMap(doc.contents)) {
    const got = isSeq(doc.contents) ? 'a list' : doc.contents === null ? 'nothing' : `the value ${showValue(doc.toJS())}`
    throw errors.recipeInvalid(file, [
      {
        location: at(doc.contents?.range?.[0] ?? 0),
        message: `a recipe is a mapping of fields, but this file holds ${got}`,
        hint: `start with \`apiVersion: ${API_VERSION}\`, then \`sources:\` and \`sinks:\`; \`modelcar init\` writes a starter recipe`,
      },
    ])
  }

  // ${VAR} expansion, scalar by scalar, so errors point at the scalar.
  const expanded = new Set<string>()
  // Values already reported as a bad reference: the schema's complaint about what the expansion
  // left (an empty path, a tag with `${`) would be a second message for the same mistake.
  const envFailed = new Set<string>()
  visit(doc, {
    Scalar(_key, node, ancestry) {
      if (typeof node.value !== 'string' || !node.value.includes('$')) return
      const x = expandEnv(node.value, env)
      const loc = node.range ? at(node.range[0]) : undefined
      for (const name of x.missing)
        diags.push({
          location: loc,
          message: `environment variable \`${name}\` is not set`,
          hint: `set it, or give a default: \`\${${name}:-value}\``,
        })
      for (const bad of x.malformed)
        diags.push({
          location: loc,
          message: `\`${bad}\` is not a variable reference`,
          hint: 'write `${NAME}` or `${NAME:-default}` (a name is letters, digits and `_`, not starting with a digit); `$${` is a literal `${`',
        })
      const p = jsonPathOf(ancestry, node).join('/')
      if (x.expanded) expanded.add(p)
      if (x.missing.length || x.malformed.length) envFailed.add(p)
      node.value = x.value
    },
  })

  const overridden = (opts.overrides ?? []).map((o) => applyOverride(doc, o))
  /** The `--set` key a value comes from, when it does. */
  const overrideOf = (p: (string | number)[]) => overridden.findLast((k) => k.every((seg, i) => String(seg) === String(p[i])))

  const locate = (p: (string | number)[], atKey = false): SourceLocation | undefined => {
    // A value from --set is not in the file: point at the key it replaced, or nowhere.
    const set = overrideOf(p)
    const off = set ? keyOffsetOf(doc, set) : offsetOf(doc, p, atKey)
    return off === undefined ? undefined : at(off)
  }
  const show = (p: (string | number)[], value: unknown): string => {
    const key = p.join('/')
    if (expanded.has(key)) return '(a value from the environment)'
    if (isSecretPath(p)) return '(secret)'
    return showValue(value)
  }
  const note = (p: (string | number)[]) => {
    const set = overrideOf(p)
    return set ? ` (from \`--set ${set.join('.')}\`)` : ''
  }
  const reported = (p: (string | number)[]) => envFailed.has(p.join('/'))

  const value = doc.toJS() as Record<string, unknown>
  const top = Value.Default(RecipeSchema, structuredClone(value)) as Record<string, unknown>
  for (const prob of describeSchemaErrors(Value.Errors(RecipeSchema, top), show)) {
    // Component entries are checked below against their own schema, and `base` by parseBaseRef,
    // whose message says more than a pattern mismatch.
    if (prob.path.length >= 2 && String(prob.path[0]) in KIND_OF_LIST) continue
    if (prob.path[0] === 'base' && typeof top.base === 'string') continue
    if (reported(prob.path)) continue
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
        const got =
          raw === null || raw === undefined ? 'nothing' : `${Array.isArray(raw) ? 'a list' : `a ${typeof raw}`} ${show(here, raw)}`
        diags.push({
          location: locate(here),
          message: `${pathLabel(here)}: expected a mapping with a \`type\`, got ${got}${note(here)}`,
          hint: `e.g. \`- type: ${EXAMPLE_TYPE[kind]}\` with the ${kind}'s fields below it; ${officialHint(opts.registry, kind)}`,
        })
        continue
      }
      const { type, ...config } = raw as Record<string, unknown>
      if (typeof type !== 'string' || !type) {
        const where = type === undefined ? locate(here) : locate([...here, 'type'])
        const what =
          type === undefined
            ? `${pathLabel(here)} has no \`type\``
            : `${pathLabel(here)}.type: expected a component name, got ${show([...here, 'type'], type)}`
        diags.push({ location: where, message: what + note(here), hint: `add \`type:\`; ${officialHint(opts.registry, kind)}` })
        continue
      }
      let component = opts.registry.get(kind, type)
      let plugin: ResolvedComponent | undefined
      if (!component && opts.resolve) {
        try {
          plugin = await opts.resolve(kind, type, dir)
        } catch (err) {
          // A package that is installed but unusable: said here, with the others, at its `type`.
          if (!isModelcarError(err)) throw err
          diags.push({ location: locate([...here, 'type']), message: err.message, hint: err.hint })
          continue
        }
        component = plugin?.component
      }
      if (!component) {
        const guess = closest(
          type,
          opts.registry.list(kind).map((c) => c.type),
        )
        const pkg = pluginPackageName(kind, type)
        diags.push({
          location: locate([...here, 'type']),
          message: `unknown ${kind} \`${type}\`${guess ? ` (did you mean \`${guess}\`?)` : ''}`,
          hint: `${officialHint(opts.registry, kind)}; a plugin is installed with \`npm install ${pkg}\`${opts.resolve ? ` (run it in \`${dir}\`, the recipe's folder, where \`${pkg}\` was looked for)` : ''}`,
        })
        continue
      }
      const from = plugin ? ` (the schema of package \`${plugin.package}\`${plugin.version ? ` ${plugin.version}` : ''})` : ''
      const found = component
      let probs: ReturnType<typeof describeSchemaErrors>
      let withDefaults: Record<string, unknown>
      try {
        withDefaults = Value.Default(found.schema, structuredClone(config)) as Record<string, unknown>
        const secretShow = (p: (string | number)[], v: unknown) => (isSecretField(found, p.slice(2)) ? '(secret)' : show(p, v))
        probs = describeSchemaErrors(Value.Errors(found.schema, withDefaults), secretShow, here)
      } catch (err) {
        // Only a plugin can get here: the schemas we ship are tested.
        diags.push({
          location: locate([...here, 'type']),
          message: `[${type}] the config schema of ${plugin ? `package \`${plugin.package}\`` : `\`${type}\``} cannot check a config: ${(err as Error).message}`,
          hint: 'a component schema is a TypeBox `Type.Object({...})` (re-exported by @modelcar/core as `Type`)',
        })
        continue
      }
      for (const prob of probs.filter((pr) => !reported(pr.path)))
        diags.push({
          location: locate(prob.path, prob.atKey),
          message: `[${type}] ${prob.message}${note(prob.path)}`,
          hint: prob.hint ? prob.hint + from : from.trim() || undefined,
        })
      if (probs.length === 0)
        lists[listName].push({
          kind,
          type,
          component,
          config: withDefaults,
          location: locate(here),
          ...(plugin ? { package: plugin.package } : {}),
        })
    }
  }

  const baseText = typeof top.base === 'string' ? top.base : 'scratch'
  const base = parseBaseRef(baseText, dir)
  if (!base && !reported(['base']))
    diags.push({
      location: locate(['base']),
      message: `base ${show(['base'], baseText)} is not a base image reference${note(['base'])}`,
      hint: baseHint(baseText),
    })
  if (value.platforms !== undefined && base && base.kind !== 'scratch') {
    diags.push({
      location: locate(['platforms'], true),
      message: '`platforms` applies only to `base: scratch`',
      hint: 'a base image brings its own platforms; remove `platforms`',
    })
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

/**
 * The components a recipe names, by kind, as written (`local`, `http`, `@acme/modelcar-source-gcs`);
 * whatever else is wrong with the recipe. `modelcar schema RECIPE` resolves them to add their schemas.
 */
export function namedComponents(text: string): { kind: ComponentKind; type: string }[] {
  const doc = parseDocument(text, { prettyErrors: false })
  const value = doc.toJS() as unknown
  if (!value || typeof value !== 'object') return []
  const out: { kind: ComponentKind; type: string }[] = []
  for (const [listName, kind] of Object.entries(KIND_OF_LIST)) {
    const list = (value as Record<string, unknown>)[listName]
    if (!Array.isArray(list)) continue
    for (const entry of list) {
      const type = (entry as { type?: unknown } | null)?.type
      if (typeof type === 'string' && type && !out.some((o) => o.kind === kind && o.type === type)) out.push({ kind, type })
    }
  }
  return out
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

/** Official components that live in packages of their own (a CLI without them names what to install). */
const OFFICIAL_PACKAGES: Readonly<Record<string, string>> = {
  'source:hf': '@modelcar/source-hf',
  'source:s3': '@modelcar/source-s3',
  'sink:registry': '@modelcar/sink-registry',
  'sink:oras': '@modelcar/sink-registry',
  'sink:skopeo': '@modelcar/sink-registry',
}

export function pluginPackageName(kind: ComponentKind, type: string): string {
  const official = OFFICIAL_PACKAGES[`${kind}:${type}`]
  if (official) return official
  return type.startsWith('@') || type.includes('/') || type.startsWith('modelcar-') ? type : `modelcar-${kind}-${type}`
}

function baseHint(text: string): string {
  const forms = 'write `scratch`, `oci-layout:PATH[:TAG]` or `registry:HOST/REPO[:TAG|@sha256:…]`'
  // Other tools' transport names (skopeo's `docker://`, `oci:`) are the likeliest slip.
  const m = /^(docker:\/\/|oci:|oci-archive:)(.+)$/.exec(text)
  if (!m) return forms
  return `${forms}; for \`${text}\` that is \`${m[1] === 'docker://' ? 'registry:' : 'oci-layout:'}${m[2]}\``
}

function officialHint(registry: ComponentRegistry, kind: ComponentKind): string {
  return `${kind}s available: ${registry
    .list(kind)
    .map((c) => `\`${c.type}\``)
    .join(', ')}`
}

/** Whether the value at `p` is, or lies inside, a field marked `secret` (a map of headers holds secrets in every entry). */
function isSecretField(component: Component, p: (string | number)[]): boolean {
  let schema: unknown = component.schema
  for (const seg of p) {
    if ((schema as { secret?: boolean } | undefined)?.secret) return true
    const s = schema as
      | {
          properties?: Record<string, unknown>
          items?: unknown
          patternProperties?: Record<string, unknown>
          additionalProperties?: unknown
        }
      | undefined
    schema =
      typeof seg === 'string'
        ? (s?.properties?.[seg] ??
          Object.values(s?.patternProperties ?? {})[0] ??
          (typeof s?.additionalProperties === 'object' ? s.additionalProperties : undefined))
        : s?.items
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

/**
 * Applies one `--set key.path=value` to the document and returns the key path. A path through a
 * scalar, or past the end of a list, is a wrong argument, not a reason to build a gappy list.
 */
function applyOverride(doc: Document, arg: string): (string | number)[] {
  const eq = arg.indexOf('=')
  const usage = 'e.g. `--set image.compression=gzip` or `--set sources.0.path=./other`'
  if (eq <= 0) throw errors.argumentInvalid(`\`--set ${arg}\` is not key=value`, usage)
  const key = arg.slice(0, eq)
  const keyPath = key.split('.').map((s) => (/^\d+$/.test(s) ? Number(s) : s))
  let node: unknown = doc.contents
  for (const [i, seg] of keyPath.entries()) {
    const label = keyPath.slice(0, i).join('.') || 'the recipe'
    if (isScalar(node) && node.value === null) {
      // `image:` with nothing after it: the override fills it in.
      node = doc.createNode(typeof seg === 'number' ? [] : {})
      doc.setIn(keyPath.slice(0, i), node)
    }
    if (node === undefined) {
      if (typeof seg === 'number' && seg !== 0)
        throw errors.argumentInvalid(`\`--set ${key}\`: \`${label}\` does not exist, so it has no entry ${seg}`, usage)
    } else if (isSeq(node)) {
      if (typeof seg !== 'number')
        throw errors.argumentInvalid(`\`--set ${key}\`: \`${label}\` is a list; select an entry by its number, e.g. \`${label}.0\``, usage)
      const n = node.items.length
      if (seg > n)
        throw errors.argumentInvalid(
          `\`--set ${key}\`: \`${label}\` has ${n} entr${n === 1 ? 'y' : 'ies'}, numbered from 0`,
          `change one with \`${label}.${n - 1}\`${n > 1 ? ' or a lower number' : ''}, or add one with \`${label}.${n}\``,
        )
      node = node.items[seg]
    } else if (isMap(node)) {
      node = node.get(seg, true)
    } else {
      throw errors.argumentInvalid(`\`--set ${key}\`: \`${label}\` is a single value, not a mapping or list`, usage)
    }
  }
  const raw = arg.slice(eq + 1)
  // The value is YAML (`--set platforms=[linux/amd64]`); text that is not valid YAML is a string.
  const parsed = parseDocument(raw)
  const value = parsed.errors.length ? raw : (parsed.toJS() as unknown)
  doc.setIn(keyPath, doc.createNode(value ?? raw))
  return keyPath
}

/** Offset of the key at exactly `p`, when the file has it. */
function keyOffsetOf(doc: Document, p: (string | number)[]): number | undefined {
  let node: unknown = doc.contents
  let offset: number | undefined
  for (const seg of p) {
    if (isMap(node)) {
      const pair = node.items.find((it) => isScalar(it.key) && String(it.key.value) === String(seg))
      offset = (pair?.key as Node | undefined)?.range?.[0]
      node = pair?.value
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg]
      offset = (node as Node | undefined)?.range?.[0]
    } else return undefined
    if (offset === undefined) return undefined
  }
  return offset
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
