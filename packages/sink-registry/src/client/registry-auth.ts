// What the distribution client needs from authentication: the contract of src/auth (written by
// the auth module), restated here so the client depends on the shape, not on the module.

export interface RegistryAuth {
  /** Sends the request with the right Authorization for its host and `scopes`; retries a 401 once when the body can be replayed. */
  fetch(url: string, init: RequestInit, scopes: string[]): Promise<Response>
  /** Makes sure credentials for (host, scopes) are ready before a streamed upload, whose 401 cannot be replayed. */
  prepare(registryBaseUrl: string, scopes: string[]): Promise<void>
  /** Where credentials for host came from (a path or a helper name), for messages; never the secret. */
  describe(host: string): Promise<string | undefined>
}

export interface RegistryAuthOptions {
  env: Readonly<Record<string, string | undefined>>
  fetch: typeof globalThis.fetch
  secret: (value: string) => void
}
