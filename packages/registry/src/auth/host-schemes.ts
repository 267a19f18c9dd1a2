// What each registry host asks for, learnt from its 401 challenges (WWW-Authenticate): nothing,
// Basic with the user's password, or Bearer tokens from a token server (realm, service).
import { authErrors } from './auth-errors.js'
import { parseWwwAuthenticate, pickChallenge, type AuthChallenge } from './www-authenticate.js'

export type HostScheme =
  | { kind: 'none' }
  /** `verified`: credentials (by source and user) `GET /v2/` has accepted, so a streamed upload will not meet a 401. */
  | { kind: 'basic'; verified: Set<string> }
  | { kind: 'bearer'; realm: string; service: string | undefined }

export class HostSchemes {
  private readonly schemes = new Map<string, HostScheme>()
  private readonly probes = new Map<string, Promise<void>>()

  constructor(private readonly fetch: typeof globalThis.fetch) {}

  get(host: string): HostScheme | undefined {
    return this.schemes.get(host)
  }

  /** Remembers what a 401 asked for. Returns the challenge, or undefined when it is not one we can answer. */
  learn(host: string, header: string | null): AuthChallenge | undefined {
    const challenge = pickChallenge(parseWwwAuthenticate(header ?? ''))
    if (!challenge) return undefined
    if (challenge.scheme === 'basic') {
      if (this.schemes.get(host)?.kind !== 'basic') this.schemes.set(host, { kind: 'basic', verified: new Set() })
    } else {
      const realm = challenge.params['realm']
      if (!realm || !/^https?:\/\//i.test(realm)) return undefined
      this.schemes.set(host, { kind: 'bearer', realm, service: challenge.params['service'] })
    }
    return challenge
  }

  /** The scheme of `base`'s host, asking `GET /v2/` without credentials when none was learnt yet (callers at once share one probe). */
  async of(base: URL): Promise<HostScheme> {
    const host = base.host
    if (!this.schemes.has(host)) {
      let probe = this.probes.get(host)
      if (!probe) {
        probe = this.probe(base)
        this.probes.set(host, probe)
        void probe.then(
          () => this.probes.delete(host),
          () => this.probes.delete(host),
        )
      }
      await probe
    }
    return this.schemes.get(host)!
  }

  private async probe(base: URL): Promise<void> {
    const host = base.host
    const res = await this.fetch(base, { method: 'GET', redirect: 'manual' }).catch((err: unknown) => {
      throw authErrors.registryAuthFailed(host, `cannot reach \`${base.href}\`: ${(err as Error).message}`, true)
    })
    await res.body?.cancel()
    if (res.status === 401) {
      if (!this.learn(host, res.headers.get('www-authenticate'))) throw authErrors.noChallenge(host, `401 GET ${base.href}`)
    } else if (res.ok) this.schemes.set(host, { kind: 'none' })
    else
      throw authErrors.registryAuthFailed(
        host,
        `\`GET ${base.href}\` answered ${res.status}; is this an OCI registry?`,
        res.status === 429 || res.status >= 500,
      )
  }
}
