// Components from npm packages: `type: "@acme/modelcar-source-gcs"`, or a bare name looked up as
// `modelcar-<kind>-<name>`, resolved from the recipe's folder (its node_modules, then its
// parents'), then from the CLI's own. The package folder is found by hand rather than with
// require.resolve: that one would also miss a package that is installed but broken (an `exports`
// without a `require` condition, a missing dist/), and the user would be told to install it again.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import {
  errors,
  type Component,
  type ComponentKind,
  type ComponentResolver,
  type ModelcarError,
  type ResolvedComponent,
} from '@modelcar/core'
import { shareHostPackages } from './host-packages.js'
import { pluginPackageName } from './official-components.js'

const KINDS = ['source', 'transform', 'sink', 'base'] as const
/** npm's package-name rule: a `type` such as `../x` names no package and reaches no folder. */
const PACKAGE_NAME = /^(@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/
/** Conditions Node applies to `import()`. */
const CONDITIONS = new Set(['import', 'node', 'default', 'module-sync'])

interface PackageJson {
  name?: string
  version?: string
  main?: string
  exports?: unknown
}

/** Plugin packages for recipes: found from the recipe's folder, then beside the CLI. */
export const pluginResolver: ComponentResolver = {
  resolve: resolvePlugin,
  missingHint(kind, type, fromDir) {
    const pkg = pluginPackageName(kind, type)
    return `a plugin is installed with \`npm install ${pkg}\` (run it in \`${fromDir}\`, the recipe's folder, where \`${pkg}\` was looked for)`
  },
  installed: installedPlugins,
}

/**
 * Types of the plugin packages of `kind` installed in node_modules of `fromDir` and the folders
 * above it: `x` for `modelcar-<kind>-x`, the full name for `@scope/modelcar-<kind>-x`.
 */
export function installedPlugins(kind: ComponentKind, fromDir: string): string[] {
  const prefix = `modelcar-${kind}-`
  const isPlugin = (name: string) => name.startsWith(prefix) && name.length > prefix.length
  const found = new Set<string>()
  for (let dir = path.resolve(fromDir); ; dir = path.dirname(dir)) {
    const modules = path.join(dir, 'node_modules')
    for (const name of namesIn(modules)) {
      if (isPlugin(name)) found.add(name.slice(prefix.length))
      else if (name.startsWith('@'))
        for (const scoped of namesIn(path.join(modules, name))) if (isPlugin(scoped)) found.add(`${name}/${scoped}`)
    }
    if (path.dirname(dir) === dir) break
  }
  return [...found].sort()
}

function namesIn(dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}

export async function resolvePlugin(kind: ComponentKind, type: string, fromDir: string): Promise<ResolvedComponent | undefined> {
  const name = pluginPackageName(kind, type)
  const loaded = await loadPluginPackage(name, fromDir, type)
  if (!loaded) return undefined
  const { components: valid } = loaded
  const ofKind = valid.filter((c) => c.kind === kind)
  const match = ofKind.find((c) => c.type === type) ?? ofKind[0]
  if (!match)
    throw loaded.invalid(
      `exports no ${kind} (it has: ${valid.map((c) => `${c.kind} \`${c.type}\``).join(', ')})`,
      `use it under \`${valid[0]!.kind}s:\` in the recipe`,
    )
  return { component: match, package: loaded.package, ...(loaded.version ? { version: loaded.version } : {}) }
}

export interface PluginPackage {
  package: string
  version: string | undefined
  /** Every component of its default export (one, or a list). */
  components: Component[]
  invalid(message: string, hint?: string): ModelcarError
}

/**
 * Finds package `name` from `fromDir`, then from the CLI's own folder, imports it and checks its
 * default export; undefined when it is not installed. `label` names it in errors (the recipe's `type`).
 */
export async function loadPluginPackage(name: string, fromDir: string, label = name): Promise<PluginPackage | undefined> {
  if (!PACKAGE_NAME.test(name)) return undefined
  const dir = findPackage(name, fromDir) ?? findPackage(name, path.dirname(fileURLToPath(import.meta.url)))
  if (!dir) return undefined
  const invalid = (message: string, hint?: string) => errors.componentInvalid(label, `package \`${name}\` (${dir}) ${message}`, hint)
  let pkg: PackageJson
  try {
    pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as PackageJson
  } catch (err) {
    throw invalid(`has an unreadable package.json: ${(err as Error).message}`)
  }
  const entry = entryOf(pkg)
  if (!entry)
    throw invalid(
      'has no entry point for `import` (`exports` or `main` in its package.json)',
      'add `"exports": { ".": "./dist/index.js" }`',
    )
  const file = path.resolve(dir, entry)
  if (!isFile(file))
    throw invalid(
      `names \`${entry}\` as its entry point, but that file does not exist`,
      'was the package built before it was packed? (`npm run build`, then `npm pack`)',
    )
  let mod: { default?: unknown }
  // The plugin's `@modelcar/*` imports are the CLI's own packages: one core at run time.
  shareHostPackages()
  try {
    mod = (await import(pathToFileURL(file).href)) as { default?: unknown }
  } catch (err) {
    throw invalid(`failed to load: ${(err as Error).message}`)
  }
  const hint =
    'export default defineSource({ type, description, schema, create }) (or defineTransform/defineSink, from @modelcar/core), or a list of components'
  if (mod.default === undefined) throw invalid('has no default export', hint)
  const list = Array.isArray(mod.default) ? (mod.default as unknown[]) : [mod.default]
  const problems = list.map(componentProblem)
  const components = list.filter((_, i) => problems[i] === undefined) as Component[]
  if (components.length === 0) {
    const what =
      list.length === 1 ? `its default export ${problems[0]}` : `no entry of its default export is a component (the first ${problems[0]})`
    throw invalid(`is not a modelcar component: ${what}`, hint)
  }
  return { package: pkg.name ?? name, version: pkg.version, components, invalid }
}

/** The folder of package `name` as Node would find it from `start`: node_modules here, then in each parent. */
function findPackage(name: string, start: string): string | undefined {
  for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', ...name.split('/'))
    if (isFile(path.join(candidate, 'package.json'))) return candidate
    if (path.dirname(dir) === dir) return undefined
  }
}

/** The file `import(name)` loads, from `exports` (`.` with Node's conditions) or `main`. */
function entryOf(pkg: PackageJson): string | undefined {
  if (pkg.exports !== undefined && pkg.exports !== null) {
    const exp = pkg.exports
    const root =
      typeof exp === 'object' && !Array.isArray(exp) && Object.keys(exp).some((k) => k.startsWith('.'))
        ? (exp as Record<string, unknown>)['.']
        : exp
    return conditional(root)
  }
  return pkg.main ?? 'index.js'
}

function conditional(target: unknown): string | undefined {
  if (typeof target === 'string') return target
  if (Array.isArray(target)) {
    for (const t of target) {
      const hit = conditional(t)
      if (hit) return hit
    }
    return undefined
  }
  if (target && typeof target === 'object') {
    for (const [cond, t] of Object.entries(target)) {
      if (!CONDITIONS.has(cond)) continue
      const hit = conditional(t)
      if (hit) return hit
    }
  }
  return undefined
}

/** What keeps `x` from being a component, or undefined when it is one. */
function componentProblem(x: unknown): string | undefined {
  if (x === null || typeof x !== 'object') return `is ${x === null ? 'null' : `a ${typeof x}`}, not a component object`
  const c = x as Record<string, unknown>
  if (!KINDS.includes(c.kind as (typeof KINDS)[number]))
    return `has no \`kind\` (\`source\`, \`transform\` or \`sink\`; defineSource() and its siblings set it)`
  if (typeof c.type !== 'string' || !c.type) return 'has no `type` (the name recipes, logs and errors use)'
  if (typeof c.create !== 'function') return `(${c.kind} \`${c.type}\`) has no \`create(config, ctx)\` function`
  const schema = c.schema as { type?: unknown } | undefined
  if (!schema || typeof schema !== 'object' || schema.type !== 'object')
    return `(${c.kind} \`${c.type}\`) has no \`schema\` that is an object schema (\`Type.Object({...})\`)`
  if (typeof c.description !== 'string' || !c.description)
    return `(${c.kind} \`${c.type}\`) has no \`description\` (one line for its reference docs)`
  return undefined
}

function isFile(p: string): boolean {
  return existsSync(p) && statSync(p).isFile()
}
