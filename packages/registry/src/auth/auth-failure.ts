// The error for a 401 that another attempt cannot fix, chosen from what was sent and what the
// challenge says: no credentials, wrong ones, the wrong kind, too little access, or a token the
// registry will not take from its own token server.
import type { ModelcarError } from '@modelcar/core'
import { authErrors } from './auth-errors.js'
import type { RegistryCredentials } from './credential-store.js'
import { describeScopes, normalizeScopes } from './scopes.js'
import type { AuthChallenge } from './www-authenticate.js'

export interface Unanswered {
  host: string
  /** What the request carried. */
  sent: 'none' | 'basic' | 'bearer'
  /** The credentials it was sent with, or those found for the host (for the message's source). */
  credentials: RegistryCredentials | undefined
  /** The 401's challenge; undefined when it had none we can answer. */
  challenge: AuthChallenge | undefined
  scopes: string[]
  /** `<status> <METHOD> <url without query>`. */
  where: string
}

export function unansweredChallenge(u: Unanswered): ModelcarError {
  const { host, challenge, credentials: creds, where } = u
  if (!challenge) return authErrors.noChallenge(host, where)
  if (!creds) return authErrors.registryCredentialsRequired(host, where)
  if (u.sent === 'basic') return authErrors.registryCredentialsRejected(host, creds.source, where)
  if (challenge.scheme === 'basic') return authErrors.passwordWanted(host, creds.source, where)
  if (challenge.params['error'] === 'insufficient_scope') {
    const asked = normalizeScopes(challenge.params['scope']?.split(' ') ?? u.scopes)
    return authErrors.registryAccessDenied(host, describeScopes(asked), creds.source, where)
  }
  return authErrors.registryAuthFailed(
    host,
    `the registry refused a token its token server just issued (${challenge.params['error'] ?? 'no reason given'}) [${where}]`,
  )
}
