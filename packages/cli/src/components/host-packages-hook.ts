// The hook module `module.register` loads on Node lines without `module.registerHooks` (before
// 22.15): host-packages.ts's resolve hook, in the loader thread, where `next` returns a promise.
import { HOST_PACKAGE } from './host-packages.js'

interface ResolveContext {
  parentURL?: string | undefined
}
type NextResolve = (specifier: string, context?: ResolveContext) => Promise<unknown>

let hostURL: string | undefined

export function initialize(data: { hostURL: string }): void {
  hostURL = data.hostURL
}

export async function resolve(specifier: string, context: ResolveContext, next: NextResolve): Promise<unknown> {
  if (hostURL && HOST_PACKAGE.test(specifier) && context.parentURL !== hostURL) {
    try {
      return await next(specifier, { ...context, parentURL: hostURL })
    } catch {
      // Not a package the CLI has: the plugin's own, if it has one.
    }
  }
  return next(specifier, context)
}
