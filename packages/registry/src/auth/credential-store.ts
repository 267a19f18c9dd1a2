// Where a user's registry credentials are kept, behind one interface (as oras-go's
// credentials.Store): the auth files podman, skopeo and Docker write, and the docker-credential-*
// helpers those files may name. Neither store knows the other's insides.

/** The run's environment (ctx.env), never process.env. */
export type Env = Readonly<Record<string, string | undefined>>

export interface RegistryCredentials {
  username?: string
  password?: string
  /** An OAuth2 refresh token (`identitytoken`, or a helper's `<token>` user): exchanged at the token server. */
  identityToken?: string
  /** Where they came from, for messages: a file path or `docker-credential-<helper>`. Never a secret. */
  source: string
}

export interface CredentialStore {
  /** For messages: a file path or `docker-credential-<helper>`. */
  readonly name: string
  /**
   * The credentials for registry `host` ("quay.io", "127.0.0.1:5000"); `repository` ("org/model",
   * or "") lets a store that keys by repository namespace pick the most specific entry. Resolves
   * undefined when the store holds none for it.
   */
  get(host: string, repository: string): Promise<RegistryCredentials | undefined>
}

/** Docker Hub goes by several names; auth files key it as `docker.io` (containers) or the v1 URL (Docker). */
export const DOCKER_HUB_NAMES: ReadonlySet<string> = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io'])
export const DOCKER_HUB_LEGACY_KEY = 'https://index.docker.io/v1/'
