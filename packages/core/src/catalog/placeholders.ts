// The placeholders of a catalogue model's strings: `{name}`, `{repo}`, `{revision}`, `{tag}` and
// `{commit}` (the commit the source resolved its revision to, for immutable tags). A sink whose
// text holds `{tag}` is written once per tag of the model, or, when it takes a `tags` list of its
// own (the registry sink), once with every tag: one upload, several tags. An unknown placeholder
// is a problem.
import { isMap, isScalar, isSeq, visit, YAMLSeq, type YAMLMap } from 'yaml'
import type { RecipeProblems } from '../recipe/recipe-problems.js'
import { jsonPathOf, type YamlDocument } from '../recipe/yaml-document.js'
import type { ModelVars } from './model-names.js'

const PLACEHOLDER = /\{([a-zA-Z]+)\}/g
const KNOWN = ['name', 'repo', 'revision', 'tag', 'commit']
/** What `{commit}` is before the source has resolved it: a valid tag, so the refs can be checked. */
export const UNRESOLVED_COMMIT = 'unresolved'

export function fillPlaceholders(
  yaml: YamlDocument,
  problems: RecipeProblems,
  vars: ModelVars & { commit?: string | undefined },
  tags: string[] | undefined,
  takesTags: (sinkType: string) => boolean,
): { usesCommit: boolean } {
  expandTags(yaml, tags ?? [vars.revision], takesTags)
  let usesCommit = false
  const values: Record<string, string> = {
    name: vars.name,
    repo: vars.repo,
    revision: vars.revision,
    commit: vars.commit ?? UNRESOLVED_COMMIT,
  }
  visit(yaml.doc, {
    Scalar(_key, node, ancestry) {
      if (typeof node.value !== 'string' || !node.value.includes('{')) return
      node.value = node.value.replace(PLACEHOLDER, (whole, name: string) => {
        if (name === 'commit') usesCommit = true
        if (name in values) return values[name]!
        if (!KNOWN.includes(name)) {
          problems.push({
            location: node.range ? yaml.at(node.range[0]) : undefined,
            message: `unknown placeholder \`${whole}\``,
            hint: `placeholders: ${KNOWN.map((k) => `\`{${k}}\``).join(', ')}`,
          })
          // What the schema would say of the unfilled text is the same mistake again.
          problems.envFailed.add(jsonPathOf(ancestry, node).join('/'))
        }
        return whole
      })
    },
  })
  return { usesCommit }
}

/** Each sink entry whose text holds `{tag}` becomes one entry per tag, `{tag}` filled in; or one with all of them. */
function expandTags(yaml: YamlDocument, tags: string[], takesTags: (sinkType: string) => boolean): void {
  const sinks = yaml.doc.get('sinks', true)
  if (!isSeq(sinks)) return
  const out = new YAMLSeq()
  for (const item of sinks.items) {
    if (!isMap(item) || !JSON.stringify(item.toJSON()).includes('{tag}')) {
      out.items.push(item)
      continue
    }
    const type = item.get('type')
    if (typeof type === 'string' && takesTags(type) && !item.has('tags')) {
      const copy = fill(item, tags[0]!)
      if (tags.length > 1) copy.set('tags', tags.slice(1))
      out.items.push(copy)
      continue
    }
    for (const tag of tags) out.items.push(fill(item, tag))
  }
  yaml.doc.set('sinks', out)
}

/** A copy of a sink entry with `{tag}` filled in. */
function fill(item: YAMLMap, tag: string): YAMLMap {
  const copy = item.clone() as YAMLMap
  visit(copy, {
    Scalar(_key, node) {
      if (isScalar(node) && typeof node.value === 'string') node.value = node.value.split('{tag}').join(tag)
    },
  })
  return copy
}
