// A recipe's YAML with its positions: where each value and key is (file:line:col), the document
// as plain data (with aliases expanded, but never into millions of nodes), and the JSON path of
// a node, so every problem found later can point at the text it is about.
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml'
import type { Diagnostic, SourceLocation } from '../errors/diagnostic.js'
import { describeYamlErrors } from './yaml-errors.js'

export type JsonPath = (string | number)[]

/** Aliases a document may expand: a few anchors are normal, a nested alias bomb is not. */
const MAX_ALIAS_COUNT = 1000

export class YamlDocument {
  readonly doc: Document
  private readonly lines: LineCounter

  /**
   * Parses `text`; or, given `from`, wraps a document built from another one's nodes (a
   * catalogue's model): its positions are those of `from`'s text.
   */
  constructor(
    readonly text: string,
    readonly file: string,
    from?: { doc: Document; positions: YamlDocument },
  ) {
    this.lines = from ? from.positions.lines : new LineCounter()
    this.doc = from ? from.doc : parseDocument(text, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: true })
  }

  at(offset: number): SourceLocation {
    const { line, col } = this.lines.linePos(offset)
    return { file: this.file, line, col }
  }

  /** Syntax errors, each at its place. */
  syntaxProblems(): Diagnostic[] {
    return describeYamlErrors(this.doc.errors, this.doc, this.text, this.lines).map((p) => ({
      location: this.at(p.offset),
      message: p.message,
      hint: p.hint,
    }))
  }

  /**
   * The document as plain data. Aliases that would expand to a huge tree (the "billion laughs"
   * attack) are a problem at the first alias, not a hung process.
   */
  toData(): { value: unknown } | { problem: Diagnostic } {
    try {
      return { value: this.doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as unknown }
    } catch (err) {
      if (!(err instanceof ReferenceError)) throw err
      return {
        problem: {
          location: this.firstAlias(),
          message: `the recipe's aliases (\`*name\`) expand to too many values: ${err.message.toLowerCase()}`,
          hint: 'write the values out, or refer to each anchor (`&name`) a few times only',
        },
      }
    }
  }

  private firstAlias(): SourceLocation | undefined {
    let offset: number | undefined
    visit(this.doc, {
      Alias(_key, node) {
        offset ??= node.range?.[0]
        return visit.BREAK
      },
    })
    return offset === undefined ? undefined : this.at(offset)
  }

  /** Offset of the key at exactly `p`, when the file has it. */
  keyOffset(p: JsonPath): number | undefined {
    let node: unknown = this.doc.contents
    let offset: number | undefined
    for (const seg of p) {
      if (isMap(node)) {
        const pair = node.items.find((it) => String(isScalar(it.key) ? it.key.value : it.key) === String(seg))
        offset = (pair?.key as Node | undefined)?.range?.[0]
        node = pair?.value
      } else if (isSeq(node) && typeof seg === 'number') {
        node = node.items[seg]
        offset = (node as Node | undefined)?.range?.[0]
      } else return undefined
      if (offset === undefined) return undefined
    }
    return offset
  }

  /** Offset of the value at `p` (its key with `atKey`), or of the deepest node on the way that exists. */
  offset(p: JsonPath, atKey = false): number | undefined {
    let node: unknown = this.doc.contents
    let offset = (node as Node | null)?.range?.[0]
    for (let i = 0; i < p.length; i++) {
      const seg = p[i]
      if (isAlias(node)) return offset
      if (isMap(node)) {
        const pair = node.items.find((it) => String(isScalar(it.key) ? it.key.value : it.key) === String(seg))
        if (!pair) return offset
        const keyOff = (pair.key as Node).range?.[0]
        if (i === p.length - 1 && atKey) return keyOff ?? offset
        node = pair.value
        offset = (node as Node | null)?.range?.[0] ?? keyOff ?? offset
      } else if (isSeq(node) && typeof seg === 'number') {
        const item = node.items[seg]
        if (!item) return offset
        node = item
        offset = (item as Node).range?.[0] ?? offset
      } else return offset
    }
    return offset
  }
}

/** The JSON path of `node`, from the ancestry `visit` gives. */
export function jsonPathOf(ancestry: readonly unknown[], node: unknown): JsonPath {
  const out: JsonPath = []
  const chain = [...ancestry, node]
  for (let i = 0; i < chain.length; i++) {
    const cur = chain[i]
    const next = chain[i + 1]
    if (isSeq(cur) && next !== undefined) out.push(cur.items.indexOf(next as Node))
    else if (isPair(cur) && next === cur.value) out.push(String(isScalar(cur.key) ? cur.key.value : cur.key))
  }
  return out
}
