// Components from npm packages: `type: "@acme/modelcar-source-gcs"`, or a bare name looked up as
// `modelcar-<kind>-<name>`, resolved from the recipe's folder, then from the CLI's own.
import { createRequire } from 'node:module'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { errors, pluginPackageName, type Component, type ComponentKind } from '@modelcar/core'

export async function resolvePlugin(kind: ComponentKind, type: string, fromDir: string): Promise<Component | undefined> {
  const name = pluginPackageName(kind, type)
  const entry = locate(name, fromDir)
  if (!entry) return undefined
  let mod: { default?: unknown }
  try {
    mod = (await import(pathToFileURL(entry).href)) as { default?: unknown }
  } catch (err) {
    throw errors.componentInvalid(type, `package \`${name}\` failed to load: ${(err as Error).message}`)
  }
  const exported = mod.default
  const list = Array.isArray(exported) ? exported : [exported]
  const valid = list.filter(isComponent)
  if (valid.length === 0) {
    throw errors.componentInvalid(type, `package \`${name}\` has no component as its default export`, 'export default defineSource({...}) (or a list of components) from @modelcar/core')
  }
  const match = valid.find((c) => c.kind === kind)
  if (!match) throw errors.componentInvalid(type, `package \`${name}\` exports no ${kind} (it has: ${valid.map((c) => `${c.kind} \`${c.type}\``).join(', ')})`)
  return match
}

function locate(name: string, fromDir: string): string | undefined {
  for (const base of [path.join(fromDir, 'noop.js'), import.meta.url]) {
    try {
      return createRequire(base).resolve(name)
    } catch {
      // not there; try the next place
    }
  }
  return undefined
}

function isComponent(x: unknown): x is Component {
  const c = x as Partial<Component> | undefined
  return !!c && (c.kind === 'source' || c.kind === 'transform' || c.kind === 'sink') && typeof c.type === 'string' && typeof c.create === 'function' && typeof c.schema === 'object'
}
