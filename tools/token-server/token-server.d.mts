// Types for token-server.mjs, which stays plain JavaScript like the other emulators in tools/.

/** Repository name glob (`*` matches anything, `/` included) → actions granted (`pull`, `push`, `delete`, `*`). */
export type AccessRules = Record<string, string[]>

export interface TokenUser {
  password: string
  access: AccessRules
}

export interface TokenServerOptions {
  /** The registry's `auth.token.service`; a request naming another service gets 400. Default `modelcar-test-registry`. */
  service?: string
  /** The JWT `iss` and the registry's `auth.token.issuer`. Default `modelcar-token-server`. */
  issuer?: string
  /** Users who authenticate with Basic (GET) or the password grant (POST). */
  users?: Record<string, TokenUser>
  /** What anyone gets, with or without credentials (e.g. `{ 'public/*': ['pull'] }`). Default nothing. */
  anonymous?: AccessRules
  /** Refuse requests without credentials (401) instead of issuing tokens with anonymous access. Default false. */
  requireAuth?: boolean
  /** `expires_in` in answers. Default 300. */
  expiresInSeconds?: number
  /**
   * exp − iat of the JWT itself. Default expiresInSeconds. distribution adds 60 s of leeway to `exp`,
   * so a token the registry refuses within 2 s needs -58 (used to test refresh on 401).
   */
  jwtLifetimeSeconds?: number
  /** How the JWT names its key: a libtrust `kid` (default) or the certificate in `x5c`. distribution 2.8 takes both. */
  keyIdentification?: 'kid' | 'x5c'
  /** Default 127.0.0.1 */
  host?: string
  /** Default 0 (any free port). */
  port?: number
}

export interface TokenRequestLog {
  method: string
  /** Path and query as received (no secrets: passwords travel in headers or the POST body). */
  path: string
  /** POST only: `password` or `refresh_token`. */
  grantType: string | undefined
  account: string | undefined
  /** The authenticated user; undefined for anonymous or refused requests. */
  user: string | undefined
  service: string | undefined
  /** Scopes asked for, e.g. `repository:org/model:pull,push`. */
  scopes: string[]
  /** Scopes put in the token. */
  granted: string[]
  /** Scheme of the Authorization header (`basic`, `bearer`) or `none`; never its value. */
  authorization: string
  status: number
}

/** What startRegistry({ token }) needs to configure docker-registry's `auth.token`. */
export interface RegistryTokenAuth {
  realm: string
  service: string
  issuer: string
  /** PEM certificate of the signing key. */
  rootCertBundle: string
}

export interface TokenServer {
  /** http://127.0.0.1:PORT/token */
  realm: string
  service: string
  issuer: string
  rootCertBundle: string
  /** libtrust key ID of the signing key (what `kid` carries). */
  keyId: string
  registryAuth: RegistryTokenAuth
  /** Every request, in order (mutable: tests may clear it). */
  requests: TokenRequestLog[]
  /** A refresh token (what `identitytoken` / a helper's `<token>` secret holds) for user. */
  createRefreshToken(user: string): string
  revokeRefreshToken(token: string): void
  /** Closes the server and removes its key; safe to call twice. */
  stop(): Promise<void>
}

export declare function startTokenServer(opts?: TokenServerOptions): Promise<TokenServer>

/** libtrust's key ID of a public key: SHA-256 of the DER SPKI, 240 bits, base32, groups of 4 joined by ':'. */
export declare function libtrustKeyId(publicKey: import('node:crypto').KeyObject): string
