// Where the members of a tar layer go in the model: their names, without a leading `./` or `/`,
// and without the folder a packer put them under when the layer's annotation names the file
// without it (a layer shared with a runnable image holds `models/config.json` and is annotated
// `config.json`). Hard and symbolic links to files of the layer become files with their target's
// bytes (as source `local` follows links); a later member of the same name replaces an earlier
// one, as unpacking would; folders are implied by their files.
import { posix } from 'node:path'
import type { TarEntry } from '../tar/tar-entries.js'

export interface LayerMember {
  /** Path in the model, relative. */
  path: string
  /** The member whose bytes the file is (a link's target). */
  member: TarEntry
  mode: number
}

/** How many links are followed from one name before it is taken as a loop. */
const MAX_LINK_HOPS = 16

export function membersOf(entries: readonly TarEntry[], annotatedPath: string | undefined, warn: (message: string) => void): LayerMember[] {
  const byName = new Map<string, TarEntry>()
  for (const e of entries) if (e.type !== 'dir') byName.set(clean(e.name), e)
  const out: LayerMember[] = []
  for (const [name, entry] of byName) {
    const member = resolveLink(name, entry, byName)
    if (typeof member === 'string') {
      warn(`\`${entry.name}\` is left out: ${member}`)
      continue
    }
    out.push({ path: name, member, mode: entry.type === 'hardlink' || entry.type === 'file' ? entry.mode : member.mode })
  }
  const strip = prefixToStrip(
    out.map((m) => m.path),
    annotatedPath === undefined ? undefined : clean(annotatedPath),
  )
  return out.map((m) => ({ ...m, path: m.path.slice(strip.length) }))
}

/** `./a/b/`, `/a/b` → `a/b`. */
export function clean(name: string): string {
  return name.replace(/^(?:\.?\/)+/, '').replace(/\/+$/, '')
}

/** The file member a name stands for, following links inside the layer; a string saying why when there is none. */
function resolveLink(name: string, entry: TarEntry, byName: ReadonlyMap<string, TarEntry>): TarEntry | string {
  let at = name
  let e = entry
  for (let hop = 0; hop <= MAX_LINK_HOPS; hop++) {
    if (e.type === 'file') return e
    if (e.type === 'other') return `it is not a file (tar type \`${e.typeflag}\`)`
    // A hard link names its target from the archive's root; a symbolic one from its own folder (or `/`).
    const target =
      e.type === 'hardlink' || e.linkname.startsWith('/')
        ? clean(e.linkname)
        : clean(posix.normalize(posix.join(posix.dirname(at), e.linkname)))
    const next = byName.get(target)
    if (!next) return `it links to \`${e.linkname}\`, which is no file of the layer`
    at = target
    e = next
  }
  return 'its links loop'
}

/** The folder to take off every path: the part before the annotated path, when every file sits under it. */
function prefixToStrip(paths: readonly string[], annotated: string | undefined): string {
  if (!annotated || paths.length === 0) return ''
  const under = (p: string, prefix: string) => p === prefix + annotated || p.startsWith(`${prefix}${annotated}/`)
  if (paths.some((p) => under(p, ''))) return ''
  const first = paths[0]!
  const at = first.endsWith(`/${annotated}`) ? first.length - annotated.length : first.indexOf(`/${annotated}/`) + 1
  if (at <= 0) return ''
  const prefix = first.slice(0, at)
  return paths.every((p) => under(p, prefix)) ? prefix : ''
}
