// Sigstore keyless signing: Fulcio certifies an ephemeral key for the OIDC identity of the run
// (SIGSTORE_ID_TOKEN, or the CI's ambient token), the DSSE envelope it signs is logged in Rekor
// (an `intoto` entry, as cosign 2 logs attestations), and the result is a Sigstore bundle v0.3,
// which `cosign verify` (v3) and @sigstore/verify read. The token is a secret: it is registered
// for masking, and whatever the services answer is stripped of it before it is shown.
import type { SerializedBundle } from '@sigstore/bundle'
import { signErrors } from './sign-errors.js'

export const DEFAULT_FULCIO_URL = 'https://fulcio.sigstore.dev'
export const DEFAULT_REKOR_URL = 'https://rekor.sigstore.dev'
export const SIGSTORE_BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json'
export const TOKEN_VARIABLE = 'SIGSTORE_ID_TOKEN'

export interface KeylessOptions {
  fulcioUrl?: string | undefined
  rekorUrl?: string | undefined
  env: Readonly<Record<string, string | undefined>>
  fetch: typeof globalThis.fetch
  /** Told the token, so that every message of the run masks it. */
  secret(value: string): void
}

export interface KeylessSigner {
  /** Who signs, as the token claims it (`email` or `sub`, and `iss`): names the signer of an attachment, never checked here. */
  readonly identity: string
  /** A Sigstore bundle (JSON) of a DSSE envelope around `payload`. */
  sign(payload: Uint8Array, payloadType: string): Promise<SerializedBundle>
}

/** A signer for the run's identity: the token is found now, before any byte moves. */
export async function keylessSigner(o: KeylessOptions): Promise<KeylessSigner> {
  const token = await identityToken(o)
  o.secret(token)
  // Loaded here, for keyless runs only: with the rest of core they were half of every command's start-up.
  const [{ bundleToJSON }, { DSSEBundleBuilder, FulcioSigner, RekorWitness }] = await Promise.all([
    import('@sigstore/bundle'),
    import('@sigstore/sign'),
  ])
  const builder = new DSSEBundleBuilder({
    signer: new FulcioSigner({ fulcioBaseURL: o.fulcioUrl ?? DEFAULT_FULCIO_URL, identityProvider: { getToken: async () => token } }),
    witnesses: [new RekorWitness({ rekorBaseURL: o.rekorUrl ?? DEFAULT_REKOR_URL, entryType: 'intoto', fetchOnConflict: false })],
  })
  return {
    identity: claimedIdentity(token),
    async sign(payload, payloadType) {
      try {
        return bundleToJSON(await builder.create({ data: Buffer.from(payload), type: payloadType }))
      } catch (err) {
        const e = err as Error & { code?: string; cause?: Error }
        const said = [e.message, e.cause?.message].filter(Boolean).join(': ').split(token).join('***')
        throw signErrors.signingFailed(
          `${e.code ? `${e.code}: ` : ''}${said}`,
          `check that Fulcio (${o.fulcioUrl ?? DEFAULT_FULCIO_URL}) and Rekor (${o.rekorUrl ?? DEFAULT_REKOR_URL}) are reachable and that the token is fresh and meant for \`sigstore\``,
        )
      }
    },
  }
}

/** The identity a JWT claims (unverified: Fulcio verifies it); `unknown` when it cannot be read. */
function claimedIdentity(token: string): string {
  try {
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>
    const who = typeof claims.email === 'string' ? claims.email : claims.sub
    return `${String(who)}@${String(claims.iss)}`
  } catch {
    return 'unknown'
  }
}

/** SIGSTORE_ID_TOKEN (GitLab, or set by hand), else GitHub Actions' token for the audience `sigstore`. */
async function identityToken(o: KeylessOptions): Promise<string> {
  const given = o.env[TOKEN_VARIABLE]?.trim()
  if (given) return given
  const url = o.env.ACTIONS_ID_TOKEN_REQUEST_URL
  const bearer = o.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN
  if (url && bearer) {
    o.secret(bearer)
    const ask = new URL(url)
    ask.searchParams.set('audience', 'sigstore')
    const res = await o.fetch(ask, { headers: { authorization: `bearer ${bearer}`, accept: 'application/json' } }).catch((err: Error) => {
      throw signErrors.signingFailed(`GitHub Actions' token service cannot be reached (${err.message})`)
    })
    const value = res.ok ? ((await res.json().catch(() => ({}))) as { value?: unknown }).value : undefined
    if (typeof value !== 'string' || !value)
      throw signErrors.signingFailed(`GitHub Actions' token service answered ${res.status}`, 'give the job `permissions: id-token: write`')
    return value
  }
  throw signErrors.identityMissing(
    `set ${TOKEN_VARIABLE} to an OIDC token whose audience is \`sigstore\` (GitLab: \`id_tokens: SIGSTORE_ID_TOKEN: aud: sigstore\`), or run in GitHub Actions with \`permissions: id-token: write\``,
  )
}
