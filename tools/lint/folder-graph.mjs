// The folder graph of each package's src/: which folder imports which. Fails on a cycle between
// folders (a folder is a room with one purpose: rooms that need each other are one room), and on
// core's contract floor importing anything above it. Run by `npm run lint`.
import { readFileSync, readdirSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/** Folders of core's floor, and what each may import: the component contract knows nothing of the engine. */
export const CORE_FLOOR = {
  errors: [],
  oci: ['errors'],
  contract: ['errors', 'oci/types.ts', 'oci/media-types.ts'],
  http: ['errors'],
}

/** Relative imports of every non-test .ts file under `src`, as [fromFile, toFile] (paths relative to src). */
export function importsOf(src) {
  const edges = []
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const abs = path.join(dir, name)
      if (statSync(abs).isDirectory()) walk(abs)
      else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts')) {
        const text = readFileSync(abs, 'utf8')
        for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]/g)) {
          const target = path.resolve(path.dirname(abs), m[1]).replace(/\.js$/, '.ts')
          edges.push([path.relative(src, abs), path.relative(src, target)])
        }
      }
    }
  }
  walk(src)
  return edges
}

const folderOf = (file) => path.dirname(file).split(path.sep)[0]

/** Cycles between folders (strongly connected components of more than one folder), each as a list of `from -> to (file)` edges. */
export function folderCycles(edges) {
  const graph = new Map()
  const witness = new Map()
  for (const [from, to] of edges) {
    const a = folderOf(from)
    const b = folderOf(to)
    if (a === b) continue
    if (!graph.has(a)) graph.set(a, new Set())
    if (!graph.has(b)) graph.set(b, new Set())
    graph.get(a).add(b)
    if (!witness.has(`${a}>${b}`)) witness.set(`${a}>${b}`, `${from} -> ${to}`)
  }
  // Tarjan's strongly connected components.
  let index = 0
  const stack = []
  const info = new Map()
  const sccs = []
  const visit = (v) => {
    info.set(v, { index, low: index, onStack: true })
    index++
    stack.push(v)
    for (const w of graph.get(v) ?? []) {
      if (!info.has(w)) {
        visit(w)
        info.get(v).low = Math.min(info.get(v).low, info.get(w).low)
      } else if (info.get(w).onStack) info.get(v).low = Math.min(info.get(v).low, info.get(w).index)
    }
    if (info.get(v).low === info.get(v).index) {
      const scc = []
      let w
      do {
        w = stack.pop()
        info.get(w).onStack = false
        scc.push(w)
      } while (w !== v)
      if (scc.length > 1) sccs.push(scc.sort())
    }
  }
  for (const v of graph.keys()) if (!info.has(v)) visit(v)
  return sccs.map((scc) => {
    const inside = new Set(scc)
    const through = [...witness].filter(([k]) => inside.has(k.split('>')[0]) && inside.has(k.split('>')[1])).map(([, w]) => w)
    return { folders: scc, edges: through }
  })
}

/** Imports of the floor folders that reach above their floor. */
export function floorBreaches(edges, floor = CORE_FLOOR) {
  const out = []
  for (const [from, to] of edges) {
    const a = folderOf(from)
    const allowed = floor[a]
    if (!allowed) continue
    const b = folderOf(to)
    if (a === b) continue
    if (!allowed.some((x) => x === b || x === to))
      out.push(`${from} -> ${to} (\`${a}/\` may import only ${allowed.length ? allowed.join(', ') : 'nothing outside itself'})`)
  }
  return out
}

function main() {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
  const problems = []
  for (const parent of ['packages', 'examples']) {
    for (const pkg of readdirSync(path.join(root, parent))) {
      const src = path.join(root, parent, pkg, 'src')
      try {
        statSync(src)
      } catch {
        continue
      }
      const edges = importsOf(src)
      for (const c of folderCycles(edges))
        problems.push(`${parent}/${pkg}: folders ${c.folders.join(', ')} import each other:\n    ${c.edges.join('\n    ')}`)
      if (parent === 'packages' && pkg === 'core')
        for (const b of floorBreaches(edges)) problems.push(`packages/core: the contract floor reaches up: ${b}`)
    }
  }
  if (problems.length) {
    process.stderr.write(`folder-graph: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n  ${problems.join('\n  ')}\n`)
    process.exit(1)
  }
  process.stdout.write('folder-graph: no folder cycles; the contract floor imports nothing above it\n')
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) main()
