// Overrides of recipe fields by path (`image.compression` = `gzip`), applied to the YAML document
// after `${VAR}` expansion and before validation, so a bad value is reported like one in the file.
// How the caller spells them (a command-line flag) is the caller's: it names each in `label`.
import { parseDocument, isMap, isScalar, isSeq, type Document } from 'yaml'
import { errors } from '../errors/core-errors.js'
import type { JsonPath } from './yaml-document.js'

export interface Override {
  /** Dotted path; list entries by number: `sources.0.path`. */
  key: string
  /** The value as YAML text (`[linux/amd64]`, `gzip`); text that is not valid YAML is a string. */
  value: string
  /** How the user wrote it, for messages (the caller's own spelling). Default: `` override `KEY` ``. */
  label?: string
}

const PATH_HINT = 'name a field by its path: `image.compression`, or a list entry by its number: `sources.0.path`'

export function overrideLabel(o: Override): string {
  return o.label ?? `override \`${o.key}\``
}

/**
 * Applies one override and returns its key path. A path through a single value, or past the end
 * of a list, is a wrong argument, not a reason to build a gappy list.
 */
export function applyOverride(doc: Document, o: Override): JsonPath {
  const label = overrideLabel(o)
  if (!o.key) throw errors.argumentInvalid(`${label}: no field is named`, PATH_HINT)
  const keyPath: JsonPath = o.key.split('.').map((s) => (/^\d+$/.test(s) ? Number(s) : s))
  let node: unknown = doc.contents
  for (const [i, seg] of keyPath.entries()) {
    const at = keyPath.slice(0, i).join('.') || 'the recipe'
    if (isScalar(node) && node.value === null) {
      // `image:` with nothing after it: the override fills it in.
      node = doc.createNode(typeof seg === 'number' ? [] : {})
      doc.setIn(keyPath.slice(0, i), node)
    }
    if (node === undefined) {
      if (typeof seg === 'number' && seg !== 0)
        throw errors.argumentInvalid(`${label}: \`${at}\` does not exist, so it has no entry ${seg}`, PATH_HINT)
    } else if (isSeq(node)) {
      if (typeof seg !== 'number')
        throw errors.argumentInvalid(`${label}: \`${at}\` is a list; select an entry by its number, e.g. \`${at}.0\``, PATH_HINT)
      const n = node.items.length
      if (seg > n) {
        throw errors.argumentInvalid(
          `${label}: \`${at}\` has ${n} entr${n === 1 ? 'y' : 'ies'}, numbered from 0`,
          `change one with \`${at}.${n - 1}\`${n > 1 ? ' or a lower number' : ''}, or add one with \`${at}.${n}\``,
        )
      }
      node = node.items[seg]
    } else if (isMap(node)) {
      node = node.get(seg, true)
    } else {
      throw errors.argumentInvalid(`${label}: \`${at}\` is a single value, not a mapping or list`, PATH_HINT)
    }
  }
  const parsed = parseDocument(o.value)
  const value = parsed.errors.length ? o.value : (parsed.toJS() as unknown)
  doc.setIn(keyPath, doc.createNode(value ?? o.value))
  return keyPath
}
