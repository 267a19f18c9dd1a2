// Paths of model files inside the image: relative, POSIX, and unable to escape the prefix.
import { errors } from '../errors/index.js'

/** Normalizes `a//b/./c` to `a/b/c`; rejects absolute paths, `..`, NUL and empty names. */
export function safeModelPath(p: string, what = 'model file'): string {
  if (p.includes('\0')) throw errors.pathUnsafe(JSON.stringify(p), 'contains a NUL byte')
  if (p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p)) throw errors.pathUnsafe(p, `of a ${what} is absolute`)
  const parts = p.split('/').filter((s) => s !== '' && s !== '.')
  if (parts.some((s) => s === '..')) throw errors.pathUnsafe(p, `of a ${what} would escape the image prefix`)
  if (parts.length === 0) throw errors.pathUnsafe(p, `of a ${what} is empty`)
  return parts.join('/')
}

/** `/models` → `models`; `/opt/ml/models/` → `opt/ml/models`. */
export function normalizePrefix(prefix: string): string {
  if (!prefix.startsWith('/')) throw errors.argumentInvalid(`image prefix \`${prefix}\` must be absolute`, 'e.g. `/models`')
  const rel = prefix.split('/').filter((s) => s !== '' && s !== '.')
  if (rel.some((s) => s === '..')) throw errors.argumentInvalid(`image prefix \`${prefix}\` contains \`..\``, 'e.g. `/models`')
  if (rel.length === 0) throw errors.argumentInvalid("image prefix `/` would put the model over the base image's root", 'e.g. `/models`')
  return rel.join('/')
}

export function joinModelPath(into: string | undefined, rel: string): string {
  return into ? `${safeModelPath(into, 'target folder')}/${rel}` : rel
}
