// Reads WWW-Authenticate challenges (RFC 9110 §11.6.1): what scheme a registry wants, and for
// Bearer where its token server is (realm), for which service and scope.

export interface AuthChallenge {
  /** Lower case: `basic`, `bearer`, or whatever else the server named. */
  scheme: string
  /** Auth parameters, names in lower case (realm, service, scope, error, …), values unquoted. */
  params: Record<string, string>
}

/**
 * Parses every challenge in a header value. fetch joins several WWW-Authenticate headers with ", ",
 * and quoted values may hold commas (`scope="repository:a:pull,push"`), so this is a small tokenizer
 * rather than a split on commas. Malformed tails are dropped, never thrown on: a registry's odd
 * header should end in a clear auth error later, not a parse crash.
 */
export function parseWwwAuthenticate(header: string): AuthChallenge[] {
  const challenges: AuthChallenge[] = []
  let i = 0
  const n = header.length
  const skipSpace = () => {
    while (i < n && (header[i] === ' ' || header[i] === '\t')) i++
  }
  const readToken = (): string => {
    const start = i
    while (i < n && /[!#$%&'*+.^_`|~0-9A-Za-z-]/.test(header[i]!)) i++
    return header.slice(start, i)
  }
  const readQuoted = (): string => {
    // header[i] is the opening quote
    i++
    let out = ''
    while (i < n && header[i] !== '"') {
      if (header[i] === '\\' && i + 1 < n) i++
      out += header[i]
      i++
    }
    i++ // closing quote (or end)
    return out
  }

  let current: AuthChallenge | undefined
  while (i < n) {
    skipSpace()
    if (header[i] === ',') {
      i++
      continue
    }
    const token = readToken()
    if (!token) {
      // Not a token where one must be: skip one character so the loop always advances.
      i++
      continue
    }
    skipSpace()
    if (header[i] === '=' && current) {
      i++
      skipSpace()
      let value: string
      if (header[i] === '"') value = readQuoted()
      else {
        // token68-ish values without quotes (some servers send realm=foo)
        const start = i
        while (i < n && header[i] !== ',' && header[i] !== ' ' && header[i] !== '\t') i++
        value = header.slice(start, i)
      }
      current.params[token.toLowerCase()] = value
      continue
    }
    if (header[i] === '=' && !current) {
      // a parameter before any scheme: not a challenge we can use
      i++
      if (header[i] === '"') readQuoted()
      continue
    }
    // A token not followed by "=" starts a new challenge.
    current = { scheme: token.toLowerCase(), params: {} }
    challenges.push(current)
  }
  return challenges
}

/** The challenge to answer: Bearer wins over Basic (a registry offering both prefers tokens). */
export function pickChallenge(challenges: AuthChallenge[]): AuthChallenge | undefined {
  return challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic')
}
