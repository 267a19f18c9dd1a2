// A lockfile for a fresh project that installs the packed tarballs, made from the repository's own
// lockfile: every third-party package at the version the repository tested, so `npm ci` finds each
// one in the npm cache the repository's install filled and never asks the registry to resolve a
// range. (`npm install` of the tarballs asked the registry for the metadata of each of their 140
// dependencies: minutes here, more than the test could wait on a slow mirror.)
interface LockEntry {
  version?: string
  resolved?: string
  integrity?: string
  link?: boolean
  dependencies?: Record<string, string>
  optionalDependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
  peerDependenciesMeta?: Record<string, { optional?: boolean }>
  bin?: Record<string, string> | string
  engines?: Record<string, string>
  os?: string[]
  cpu?: string[]
  license?: string
  [flag: string]: unknown
}

export interface Lockfile {
  name: string
  version: string
  lockfileVersion: 3
  requires: true
  packages: Record<string, LockEntry>
}

export interface PackedPackage {
  name: string
  /** Where it sits in the repository (`packages/core`), as the repository's lockfile names it. */
  workspace: string
  /** Its package.json as packed. */
  manifest: { version: string; dependencies?: Record<string, string>; peerDependencies?: Record<string, string>; bin?: unknown }
  /** The `file:` spec the project's package.json gives it (relative to the project). */
  spec: string
}

/** The lockfile of a project `name` whose dependencies are the packed packages. */
export function freshLockfile(repoLock: Lockfile, name: string, packed: readonly PackedPackage[]): Lockfile {
  const packages: Record<string, LockEntry> = {
    '': { name, version: '1.0.0', dependencies: Object.fromEntries(packed.map((p) => [p.name, p.spec])) },
  }
  const ours = new Set(packed.map((p) => p.name))

  // `dep` as Node would find it from the package at `from` (a path of the repository's lockfile).
  const locate = (from: string, dep: string): string | undefined => {
    for (let dir = from; ; dir = parentOf(dir)) {
      const at = dir ? `${dir}/node_modules/${dep}` : `node_modules/${dep}`
      if (repoLock.packages[at]) return at
      if (!dir) return undefined
    }
  }
  const walk = (from: string, deps: Record<string, string>, optional: Set<string>, rename: (p: string) => string): void => {
    for (const dep of Object.keys(deps)) {
      if (ours.has(dep)) continue
      const at = locate(from, dep)
      if (!at) {
        if (optional.has(dep)) continue
        throw new Error(`fresh lockfile: \`${dep}\` (needed by \`${from || 'the project'}\`) is not in the repository's lockfile`)
      }
      const out = rename(at)
      if (packages[out]) continue
      const entry = repoLock.packages[at]!
      if (entry.link) throw new Error(`fresh lockfile: \`${at}\` is a link into the repository, not a package`)
      packages[out] = withoutFlags(entry)
      const peersOptional = Object.entries(entry.peerDependenciesMeta ?? {}).filter(([, m]) => m.optional)
      walk(
        at,
        { ...entry.dependencies, ...entry.optionalDependencies, ...entry.peerDependencies },
        new Set([...Object.keys(entry.optionalDependencies ?? {}), ...peersOptional.map(([n]) => n)]),
        rename,
      )
    }
  }

  for (const p of packed) {
    const { version, dependencies, peerDependencies, bin } = p.manifest
    packages[`node_modules/${p.name}`] = {
      version,
      resolved: p.spec,
      ...(dependencies && { dependencies }),
      ...(peerDependencies && { peerDependencies }),
      ...(bin !== undefined && { bin: bin as LockEntry['bin'] }),
    }
    // A version the workspace keeps for itself (`packages/core/node_modules/x`) goes under the package.
    const inside = `${p.workspace}/node_modules/`
    const rename = (at: string) => (at.startsWith(inside) ? `node_modules/${p.name}/node_modules/${at.slice(inside.length)}` : at)
    walk(p.workspace, { ...dependencies, ...peerDependencies }, new Set(), rename)
  }
  return { name, version: '1.0.0', lockfileVersion: 3, requires: true, packages }
}

/** The folder whose node_modules Node looks in next: `a/node_modules/b/node_modules/c` → `a/node_modules/b`; a workspace → the root. */
function parentOf(dir: string): string {
  const i = dir.lastIndexOf('/node_modules/')
  return i >= 0 ? dir.slice(0, i) : ''
}

/** The entry as a production install sees it: the repository's dev and peer markers do not apply. */
function withoutFlags(entry: LockEntry): LockEntry {
  const { dev: _dev, devOptional: _devOptional, peer: _peer, optional: _optional, ...rest } = entry
  return rest
}
