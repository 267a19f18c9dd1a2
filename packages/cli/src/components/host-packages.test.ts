import { describe, expect, it } from 'vitest'
import { resolveFromHost } from './host-packages.js'

const HOST = 'file:///cli/dist/components/host-packages.js'
const PLUGIN = 'file:///linked/plugin/index.js'

/** Node's next resolver, as far as the hook sees it: the CLI has @modelcar/core and /registry; the plugin has only @modelcar/testing. */
function next(specifier: string, context: { parentURL?: string } = {}) {
  const has = context.parentURL === HOST ? ['@modelcar/core', '@modelcar/registry'] : ['@modelcar/testing', 'left-pad']
  const pkg = specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/')
  if (!has.includes(pkg)) throw Object.assign(new Error(`Cannot find package '${pkg}'`), { code: 'ERR_MODULE_NOT_FOUND' })
  return { url: `file:///${context.parentURL === HOST ? 'cli' : 'linked/plugin'}/node_modules/${specifier}/index.js` }
}

describe('plugin imports of @modelcar packages', () => {
  const resolve = resolveFromHost(HOST)

  it('resolve to the CLI’s copy, whether or not the plugin has one', () => {
    expect(resolve('@modelcar/core', { parentURL: PLUGIN }, next).url).toBe('file:///cli/node_modules/@modelcar/core/index.js')
    expect(resolve('@modelcar/registry/sub', { parentURL: PLUGIN }, next).url).toBe(
      'file:///cli/node_modules/@modelcar/registry/sub/index.js',
    )
  })

  it('fall back to the plugin’s own when the CLI has no such package; other packages are the plugin’s', () => {
    expect(resolve('@modelcar/testing', { parentURL: PLUGIN }, next).url).toBe(
      'file:///linked/plugin/node_modules/@modelcar/testing/index.js',
    )
    expect(resolve('left-pad', { parentURL: PLUGIN }, next).url).toBe('file:///linked/plugin/node_modules/left-pad/index.js')
    expect(() => resolve('@modelcar/nope', { parentURL: PLUGIN }, next)).toThrow("Cannot find package '@modelcar/nope'")
  })
})
