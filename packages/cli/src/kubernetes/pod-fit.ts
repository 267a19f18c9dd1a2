// Whether a catalogue can run in the mirror pod, checked before any manifest is printed: the pod has
// no model files of its own and no disk for model bytes (a read-only root, small scratch folders),
// no skopeo or oras, and only the variables it sets itself. Every problem at once, at its place.
import { LineCounter, parseDocument, visit } from 'yaml'
import { expandEnv, type Catalog, type Diagnostic, type SourceLocation } from '@modelcar/core'
import { POD_VARIABLES } from './mirror-pod.js'

/** Components that need the pod's disk or a tool the image lacks, and what to use instead. */
const NEEDS_DISK: Record<string, Record<string, { why: string; instead: string }>> = {
  source: {
    local: { why: 'reads files on the pod’s own disk, which holds no model', instead: 'mirror from the Hub (`hf`) or S3 (`s3`)' },
  },
  sink: {
    'oci-layout': {
      why: 'writes the image to the pod’s disk, which is read-only but for small scratch folders',
      instead: 'push with a `registry` sink',
    },
    skopeo: { why: 'stages a layout on the pod’s disk and runs `skopeo`, which the image does not have', instead: 'use a `registry` sink' },
    oras: { why: 'stages a layout on the pod’s disk and runs `oras`, which the image does not have', instead: 'use a `registry` sink' },
  },
  base: {
    'oci-layout': { why: 'reads a layout on the pod’s disk', instead: 'use `registry:HOST/REPO:TAG` or `scratch`' },
  },
}

export async function podFitProblems(catalog: Catalog, text: string): Promise<Diagnostic[]> {
  const problems = new Map<string, Diagnostic>()
  // A template's component is every model's: one problem, said for the first model.
  const add = (d: Diagnostic) => {
    const key = `${d.location?.line}:${d.location?.col}:${d.message.replace(/^model `[^`]*`: /, '')}`
    if (!problems.has(key)) problems.set(key, d)
  }
  for (const model of catalog.models) {
    const recipe = await model.recipe()
    const entries = [
      ...recipe.sources.map((e) => ({ kind: 'source', e })),
      ...recipe.sinks.map((e) => ({ kind: 'sink', e })),
      { kind: 'base', e: recipe.base },
    ]
    for (const { kind, e } of entries) {
      const bad = NEEDS_DISK[kind]?.[e.type]
      if (bad)
        add({
          location: e.location,
          message: `model \`${model.name}\`: ${kind} \`${e.type}\` ${bad.why}`,
          hint: `${bad.instead}; the pods run with no model bytes on disk`,
        })
    }
  }
  for (const d of unsetVariables(text, catalog.file)) add(d)
  return [...problems.values()]
}

/** `${NAME}` references (without a default) to variables the pod does not set: the catalogue loaded here, but would not there. */
function unsetVariables(text: string, file: string): Diagnostic[] {
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines })
  const podEnv = Object.fromEntries(POD_VARIABLES.map((name) => [name, 'set']))
  const out: Diagnostic[] = []
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value !== 'string' || !node.value.includes('$')) return
      const { missing } = expandEnv(node.value, podEnv)
      if (!missing.length) return
      const at = lines.linePos(node.range?.[0] ?? 0)
      const location: SourceLocation = { file, line: at.line, col: at.col }
      for (const name of missing)
        out.push({
          location,
          message: `\`\${${name}}\` is not set in the pods`,
          hint: `the pods set ${POD_VARIABLES.map((v) => `\`${v}\``).join(', ')}; write the value in the catalogue, or give a default: \`\${${name}:-value}\``,
        })
    },
  })
  return out
}
