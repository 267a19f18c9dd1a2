// What a catalogue model is called and what its placeholders say, from its source: `{name}` (the
// Hub repo's name, the S3 prefix's last folder, the local folder's name; lower case, as registry
// repository names must be), `{repo}`, `{revision}`.
import path from 'node:path'

export interface ModelVars {
  name: string
  repo: string
  revision: string
}

/** Lower case, with anything a registry repository name cannot hold turned into `-`. */
export function refSafe(text: string): string {
  const out = text
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[._-]+/, '')
    .slice(0, 128)
  return out || 'model'
}

/** The placeholders of a model whose source config is `source` (as written, `${VAR}` expanded). */
export function varsOf(source: Record<string, unknown>, name: string | undefined): ModelVars {
  const str = (k: string) => (typeof source[k] === 'string' ? (source[k] as string) : undefined)
  const type = str('type') ?? 'model'
  const repo = str('repo') ?? [str('bucket'), str('prefix')].filter(Boolean).join('/')
  const derived = str('repo')?.split('/').pop() ?? lastFolder(str('prefix')) ?? str('bucket') ?? lastFolder(str('path')) ?? type
  // `{repo}` keeps its folders (`org/name`), each made safe for a registry path.
  const safeRepo = (repo || derived).split('/').filter(Boolean).map(refSafe).join('/')
  return { name: name ?? refSafe(derived), repo: safeRepo, revision: str('revision') ?? (str('repo') ? 'main' : 'latest') }
}

function lastFolder(p: string | undefined): string | undefined {
  if (!p) return undefined
  const base = path.posix.basename(p.replace(/\/+$/, ''))
  return base && base !== '.' ? base : undefined
}
