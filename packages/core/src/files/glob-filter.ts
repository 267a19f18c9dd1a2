// include/exclude globs over model paths. A pattern without `/` matches the file name in any
// folder (as Hugging Face's allow_patterns do: `*.json` finds `tokenizer/vocab.json`).
import picomatch from 'picomatch'

export interface GlobFilter {
  (path: string): boolean
}

export function globFilter(include: string[] | undefined, exclude: string[] | undefined): GlobFilter {
  const compile = (patterns: string[]) => patterns.map((p) => picomatch(p, { dot: true, basename: !p.includes('/') }))
  const inc = include && include.length ? compile(include) : undefined
  const exc = exclude && exclude.length ? compile(exclude) : []
  return (p) => (!inc || inc.some((m) => m(p))) && !exc.some((m) => m(p))
}

/** Patterns that matched no path at all: worth an error, they are likely typos. */
export function unmatchedPatterns(patterns: string[] | undefined, paths: string[]): string[] {
  if (!patterns) return []
  return patterns.filter((p) => {
    const m = picomatch(p, { dot: true, basename: !p.includes('/') })
    return !paths.some((x) => m(x))
  })
}
