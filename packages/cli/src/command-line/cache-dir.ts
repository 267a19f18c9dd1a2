// Where the record of layers written before lives (metadata only: a few hundred bytes a layer):
// `--cache-dir`, else MODELCAR_CACHE_DIR, else the user's cache folder ($XDG_CACHE_HOME/modelcar,
// ~/.cache/modelcar). `--no-cache` turns the record off; layers are then still found in the image
// each sink holds.
import os from 'node:os'
import path from 'node:path'

export interface CacheChoice {
  cacheDir?: string
}

export function cacheChoice(
  values: { 'cache-dir'?: string | undefined; 'no-cache'?: boolean | undefined },
  env: NodeJS.ProcessEnv,
): CacheChoice {
  if (values['no-cache']) return {}
  const dir = values['cache-dir'] ?? env.MODELCAR_CACHE_DIR ?? (env.XDG_CACHE_HOME ? path.join(env.XDG_CACHE_HOME, 'modelcar') : undefined)
  if (dir) return { cacheDir: path.resolve(dir) }
  const home = env.HOME ?? os.homedir()
  return home ? { cacheDir: path.join(home, '.cache', 'modelcar') } : {}
}

/** The options every command that runs a recipe takes for it. */
export const CACHE_OPTIONS = {
  'cache-dir': { type: 'string' },
  'no-cache': { type: 'boolean' },
} as const
