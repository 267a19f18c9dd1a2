// What every source does between listing and yielding: sort by path, apply include/exclude, and
// refuse an include that matches nothing (usually a typo) or a selection left empty, saying where
// the files were listed and what is there.
import { errors } from '../errors/core-errors.js'
import { ModelcarError, optionsOf } from '../errors/modelcar-error.js'
import { globFilter, unmatchedPatterns } from './glob-filter.js'

export interface SelectOptions<T> {
  include?: string[] | undefined
  exclude?: string[] | undefined
  /** The path an entry is matched by, relative to the model root (`tokenizer/vocab.json`). */
  path: (entry: T) => string
  /** Where the entries were listed, for messages: `` `./model` ``, `` model `org/name` at `main` ``. */
  where: string
}

/**
 * The entries the globs take, sorted by path. An include pattern that matches nothing, or a
 * selection that is empty, is an input error (SOURCE_NOTHING_MATCHED) naming `where` and giving
 * a few of the paths that are there.
 */
export function selectFiles<T>(entries: readonly T[], opts: SelectOptions<T>): T[] {
  const sorted = [...entries].sort((a, b) => compare(opts.path(a), opts.path(b)))
  const paths = sorted.map(opts.path)
  if (paths.length === 0) {
    throw new ModelcarError('SOURCE_NOTHING_MATCHED', `${opts.where} holds no file`, {
      hint: 'check the path (or prefix) and that the files are there',
      input: true,
    })
  }
  const filter = globFilter(opts.include, opts.exclude)
  const chosen = sorted.filter((e) => filter(opts.path(e)))
  const unmatched = unmatchedPatterns(opts.include, paths)
  if (unmatched.length === 0 && chosen.length > 0) return chosen
  const base = errors.sourceNothingMatched(opts.where, unmatched.length ? unmatched : (opts.include ?? ['**']))
  const examples = paths
    .slice(0, 5)
    .map((p) => `\`${p}\``)
    .join(', ')
  throw new ModelcarError(base.code, base.message, {
    ...optionsOf(base),
    hint: `${base.hint}; there are ${paths.length} files, e.g. ${examples}`,
  })
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
