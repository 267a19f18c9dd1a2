// One @modelcar/core at run time. A plugin imports `@modelcar/core` (its peer dependency) from its
// own real folder: installed from a folder (`npm install ../plugin`) or with `npm link`, that folder
// is reached through a symlink and may have no core at all (npm did not install the peer there), or
// a second copy of its own (the author's devDependencies). A resolve hook makes every
// `@modelcar/*` import resolve to the package the CLI itself uses, when the CLI has it.
import module from 'node:module'

/** Package specifiers the CLI answers for: `@modelcar/core`, `@modelcar/core/sub/path`, … */
export const HOST_PACKAGE = /^@modelcar\/[^/]+(\/.*)?$/

interface ResolveContext {
  parentURL?: string | undefined
  conditions?: readonly string[]
  importAttributes?: Record<string, string>
}
interface ResolveResult {
  url: string
  format?: string | null | undefined
  shortCircuit?: boolean
}
type NextResolve = (specifier: string, context?: Partial<ResolveContext>) => ResolveResult
type ModuleHooks = { resolve(specifier: string, context: ResolveContext, next: NextResolve): ResolveResult }

/**
 * The resolve hook: a `@modelcar/*` specifier is resolved as if `hostURL` (a module of the CLI)
 * imported it; when the CLI has no such package, as the importer asked.
 */
export function resolveFromHost(hostURL: string): ModuleHooks['resolve'] {
  return (specifier, context, next) => {
    if (HOST_PACKAGE.test(specifier) && context.parentURL !== hostURL) {
      try {
        return next(specifier, { ...context, parentURL: hostURL })
      } catch {
        // Not a package the CLI has (e.g. @modelcar/testing): the plugin's own, if it has one.
      }
    }
    return next(specifier, context)
  }
}

let registered = false

/**
 * Registers the hook, once, before the first plugin is imported. `module.registerHooks` (Node
 * 22.15 and later) runs it in this thread; older lines get `module.register` and a hook module
 * (Node 26 deprecates that one, so it is only the fallback).
 */
export function shareHostPackages(): void {
  if (registered) return
  registered = true
  const hostURL = import.meta.url
  const m = module as unknown as {
    registerHooks?: (hooks: ModuleHooks) => unknown
    register?: (specifier: URL, opts: { data: unknown }) => void
  }
  if (typeof m.registerHooks === 'function') m.registerHooks({ resolve: resolveFromHost(hostURL) })
  else if (typeof m.register === 'function') m.register(new URL('./host-packages-hook.js', import.meta.url), { data: { hostURL } })
}
