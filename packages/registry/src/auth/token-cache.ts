// Bearer tokens by (host, scopes): reused until shortly before they expire, one request to the
// token server in flight per key, and dropped once the registry refuses them.
import type { Token } from './token-client.js'

export interface CachedToken {
  token: Token
  /**
   * The registry has not accepted this token yet (just issued): a 401 with it will not go away by
   * fetching another, so it ends in an error instead of a loop.
   */
  fresh: boolean
}

export class TokenCache {
  private readonly tokens = new Map<string, Token>()
  private readonly pending = new Map<string, Promise<Token>>()
  /** Tokens the registry has answered something other than 401 to. */
  private readonly proven = new WeakSet<Token>()

  constructor(private readonly now: () => number) {}

  /** The token cached for key while it is in date; else the one `request` gets, shared by callers asking at once. */
  async get(key: string, request: () => Promise<Token>): Promise<CachedToken> {
    const cached = this.tokens.get(key)
    if (cached && cached.expiresAt > this.now()) return { token: cached, fresh: !this.proven.has(cached) }
    let pending = this.pending.get(key)
    if (!pending) {
      pending = request()
      this.pending.set(key, pending)
      pending.then(
        (t) => {
          this.tokens.set(key, t)
          this.pending.delete(key)
        },
        () => this.pending.delete(key),
      )
    }
    return { token: await pending, fresh: true }
  }

  /** The registry took it: a later 401 with it means it lapsed, and another may help. */
  accepted(token: Token): void {
    this.proven.add(token)
  }

  /** Expired early, revoked, or too narrow: this token is done either way. */
  forget(token: Token): void {
    for (const [key, t] of this.tokens) if (t === token) this.tokens.delete(key)
  }
}
