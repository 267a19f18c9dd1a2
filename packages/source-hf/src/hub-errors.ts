// What the Hub's refusals mean for the user: gated, private or missing repos, missing revisions
// and files — each said plainly, with where to go next. The token never appears.
import { ModelcarError } from '@modelcar/core'

/** What a failed Hub response said, read from its headers (the JS client does not keep them). */
export interface HubRefusal {
  status: number
  url: string
  errorCode: string | undefined
  errorMessage: string | undefined
  requestId: string | undefined
}

export interface RepoRef {
  /** `org/name`, `datasets/org/name`. */
  id: string
  kind: 'model' | 'dataset'
  name: string
  webUrl: string
}

export function refusalError(
  r: HubRefusal,
  repo: RepoRef,
  revision: string,
  hasToken: boolean,
  tokenFrom: string | undefined,
): ModelcarError {
  const where = `[${r.status}${r.requestId ? `, request id ${r.requestId}` : ''}]`
  const gated = r.errorCode === 'GatedRepo' || /restricted/i.test(r.errorMessage ?? '')
  if (gated) {
    return new ModelcarError(
      'COMPONENT_FAILED',
      `${repo.kind} \`${repo.name}\` is gated: ${hasToken ? `the token from ${tokenFrom} has no access to it` : 'it needs a token with access'} ${where}`,
      { hint: `request access at ${repo.webUrl}, then give a token of that account (HF_TOKEN, or \`hf auth login\`)`, input: true },
    )
  }
  if (r.errorCode === 'RevisionNotFound' || (r.status === 404 && /rev/i.test(r.errorMessage ?? ''))) {
    return new ModelcarError('COMPONENT_FAILED', `revision \`${revision}\` does not exist in ${repo.kind} \`${repo.name}\` ${where}`, {
      hint: 'give a branch, a tag or a full commit sha that exists (see the repo’s “Files and versions” tab)',
      input: true,
    })
  }
  if (r.errorCode === 'EntryNotFound') {
    return new ModelcarError('COMPONENT_FAILED', `a file of ${repo.kind} \`${repo.name}\` is missing at \`${revision}\` ${where}`, {
      hint: 'the revision changed while it was read; run again',
      input: false,
    })
  }
  if (r.status === 401 || r.status === 404 || r.errorCode === 'RepoNotFound') {
    const hint = r.errorMessage?.includes('Invalid credentials')
      ? `the token from ${tokenFrom} is not valid: create a new one at https://huggingface.co/settings/tokens`
      : hasToken
        ? `check the name; if it is private, the token from ${tokenFrom} must belong to an account with access`
        : 'check the name; if it is private, give a token (HF_TOKEN, or `hf auth login`)'
    return new ModelcarError('COMPONENT_FAILED', `${repo.kind} \`${repo.name}\` was not found, or it is private ${where}`, {
      hint,
      input: true,
    })
  }
  if (r.status === 403) {
    return new ModelcarError('COMPONENT_FAILED', `access to ${repo.kind} \`${repo.name}\` is denied ${where}`, {
      hint: `the token from ${tokenFrom} lacks the read permission`,
      input: true,
    })
  }
  return new ModelcarError(
    'COMPONENT_FAILED',
    `the Hub answered ${r.status} for ${redactUrl(r.url)}${r.errorMessage ? `: ${r.errorMessage}` : ''} ${where}`,
    {
      retryable: r.status === 429 || r.status >= 500,
    },
  )
}

/** URLs may carry signed query strings (CDN links): keep only origin and path in messages. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    return `${u.origin}${u.pathname}`
  } catch {
    return url
  }
}
