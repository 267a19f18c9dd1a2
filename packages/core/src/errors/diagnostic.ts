// A problem in an input file, where it is and what would be right: how a recipe's mistakes are
// reported, all at once.

/** Where in an input file a problem is. Lines and columns start at 1. */
export interface SourceLocation {
  file: string
  line: number
  col: number
}

export interface Diagnostic {
  location?: SourceLocation | undefined
  /** What is wrong, with the offending value in backticks. */
  message: string
  /** What would be right (allowed keys, expected form). */
  hint?: string | undefined
}

export function formatLocation(loc: SourceLocation | undefined): string {
  return loc ? `${loc.file}:${loc.line}:${loc.col}` : ''
}

/** One diagnostic as a person reads it: `recipe.yaml:3:5: message`, and its hint below. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = formatLocation(d.location)
  return `${where ? `${where}: ` : ''}${d.message}${d.hint ? `\n    hint: ${d.hint}` : ''}`
}
