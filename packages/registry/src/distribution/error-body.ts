// The JSON error body of the distribution spec (`{"errors":[{"code","message","detail"}]}`), as
// the client and the auth module read it from a refusal.

export interface DistributionError {
  code?: string
  message?: string
  detail?: unknown
}

/** The errors of a body; none when it is not the spec's JSON. */
export function parseDistributionErrors(text: string): DistributionError[] {
  try {
    const body = JSON.parse(text) as { errors?: DistributionError[] }
    return Array.isArray(body.errors) ? body.errors : []
  } catch {
    return []
  }
}

/** `CODE message (detail)` for each error, joined: what a person reads of the body. */
export function describeDistributionErrors(errs: DistributionError[]): string {
  return errs
    .map(
      (e) => `${e.code ?? 'ERROR'}${e.message ? ` ${e.message}` : ''}${typeof e.detail === 'string' && e.detail ? ` (${e.detail})` : ''}`,
    )
    .join('; ')
}
