// YAML syntax errors as diagnostics: the yaml library's message, moved to where the mistake is
// and given a hint that fits the mistake (it reports an unclosed quote at the end of the file and
// an indentation slip at column 1).
import { isScalar, visit, type Document, type LineCounter, type YAMLError } from 'yaml'

export interface YamlProblem {
  offset: number
  message: string
  hint: string
}

const INDENT_CODES = new Set(['BAD_INDENT', 'MISSING_CHAR', 'UNEXPECTED_TOKEN', 'BLOCK_AS_IMPLICIT_KEY', 'MULTILINE_IMPLICIT_KEY'])

/** One problem per place: the library often reports one slip twice at the same offset. */
export function describeYamlErrors(errs: readonly YAMLError[], doc: Document, text: string, lines: LineCounter): YamlProblem[] {
  const out: YamlProblem[] = []
  for (const e of errs) {
    const p = describe(e, doc, text, lines)
    if (!out.some((o) => o.offset === p.offset)) out.push(p)
  }
  return out
}

function describe(e: YAMLError, doc: Document, text: string, lines: LineCounter): YamlProblem {
  const message = `YAML: ${e.message.split('\n')[0]}`
  const offset = e.pos[0]
  if (e.code === 'DUPLICATE_KEY') {
    const first = firstOfDuplicate(doc, offset)
    return {
      offset,
      message: first ? `YAML: duplicate key \`${first.key}\` (first at line ${lines.linePos(first.offset).line})` : message,
      hint: 'a key appears once in a mapping: keep one of them',
    }
  }
  if (e.code === 'MISSING_CHAR' && /closing/.test(e.message)) {
    const quote = /closing (["'])/.exec(e.message)?.[1] ?? '"'
    const open = unclosedQuoteStart(doc, offset)
    return {
      offset: open ?? offset,
      message: `YAML: the ${quote === '"' ? 'double' : 'single'}-quoted string that starts here is not closed`,
      hint: `end it with \`${quote}\`, usually on the same line`,
    }
  }
  if (e.code === 'TAB_AS_INDENT') return { offset, message, hint: 'indent with spaces: YAML does not allow tabs' }
  if (e.code === 'MULTIPLE_DOCS')
    return { offset, message: 'YAML: the file holds more than one document', hint: 'a recipe is one YAML document: remove the `---` line' }
  if (INDENT_CODES.has(e.code)) {
    const at = firstNonBlank(text, offset)
    return { offset: at, message, hint: indentationHint(text, at, lines) }
  }
  return { offset, message, hint: 'check indentation and quoting' }
}

/** The start of the quoted scalar the parser ran to the end of the file with. */
function unclosedQuoteStart(doc: Document, errorOffset: number): number | undefined {
  let start: number | undefined
  visit(doc, {
    Scalar(_key, node) {
      const quoted = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE'
      if (quoted && node.range && node.range[1] >= errorOffset) start ??= node.range[0]
    },
  })
  return start
}

/** For a duplicate key at `offset`: its name and where the first one is. */
function firstOfDuplicate(doc: Document, offset: number): { key: string; offset: number } | undefined {
  let found: { key: string; offset: number } | undefined
  visit(doc, {
    Map(_key, map) {
      const dup = map.items.find((it) => isScalar(it.key) && it.key.range?.[0] === offset)
      if (!dup || !isScalar(dup.key)) return
      const name = String(dup.key.value)
      const first = map.items.find((it) => isScalar(it.key) && String(it.key.value) === name)
      if (first && isScalar(first.key) && first.key.range) found = { key: name, offset: first.key.range[0] }
      return visit.BREAK
    },
  })
  return found
}

/** Past the indentation of the line `offset` is on, when it points into that indentation. */
function firstNonBlank(text: string, offset: number): number {
  let i = offset
  while (text[i] === ' ' || text[i] === '\t') i++
  return text[i] === '\n' || i >= text.length ? offset : i
}

/** The line's indentation against the line above it: the slip is usually one space. */
function indentationHint(text: string, offset: number, lines: LineCounter): string {
  const general = 'the keys of one mapping line up, list items start with `- `, and `key: value` has a space after the colon'
  const { line } = lines.linePos(offset)
  const all = text.split('\n')
  // A list item's `- ` counts: the keys of `  - type: local` start at column 5.
  const indent = (l: string) => /^(?:\s*-\s+)*\s*/.exec(l)![0].length
  const prev = all
    .slice(0, line - 1)
    .reverse()
    .find((l) => l.trim() && !l.trim().startsWith('#'))
  const here = all[line - 1]
  if (prev === undefined || here === undefined || indent(here) === indent(prev)) return general
  return `line ${line} is indented by ${indent(here)} spaces, the line above by ${indent(prev)}: ${general}`
}
