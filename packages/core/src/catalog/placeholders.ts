// The placeholders of a catalogue model's strings: `{name}`, `{repo}`, `{revision}`, `{tag}` and
// `{commit}` (the commit the source resolved its revision to, for immutable tags). A sink whose
// text holds `{tag}` is written once per tag of the model. An unknown placeholder is a problem.
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
): { usesCommit: boolean } {
  expandTags(yaml, tags ?? [vars.revision])
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

/** Each sink entry whose text holds `{tag}` becomes one entry per tag, `{tag}` filled in. */
function expandTags(yaml: YamlDocument, tags: string[]): void {
  const sinks = yaml.doc.get('sinks', true)
  if (!isSeq(sinks)) return
  const out = new YAMLSeq()
  for (const item of sinks.items) {
    if (!isMap(item) || !JSON.stringify(item.toJSON()).includes('{tag}')) {
      out.items.push(item)
      continue
    }
    for (const tag of tags) {
      const copy = (item as YAMLMap).clone() as YAMLMap
      visit(copy, {
        Scalar(_key, node) {
          if (isScalar(node) && typeof node.value === 'string') node.value = node.value.split('{tag}').join(tag)
        },
      })
      out.items.push(copy)
    }
  }
  yaml.doc.set('sinks', out)
}
