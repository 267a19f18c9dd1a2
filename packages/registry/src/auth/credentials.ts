// Finds the credentials a user already has for a registry: the auth-file stores in the order
// podman and skopeo read them (containers/image pkg/docker/config), each with the helpers it names.
import { authFilePaths, authFileStore } from './auth-file-store.js'
import type { CredentialStore, Env, RegistryCredentials } from './credential-store.js'

/** The stores to ask, in order: one per auth file. */
export function credentialStores(env: Env): CredentialStore[] {
  return authFilePaths(env).map((file) => authFileStore(file, env))
}

/**
 * Credentials for a registry host ("quay.io", "127.0.0.1:5000") or a repository on it
 * ("quay.io/org/model": keys scoped to `quay.io/org/model`, then `quay.io/org`, win over `quay.io`).
 * Resolves undefined when no store holds any: anonymous access.
 */
export async function findCredentials(
  hostOrRepository: string,
  env: Env,
  stores: readonly CredentialStore[] = credentialStores(env),
): Promise<RegistryCredentials | undefined> {
  const slash = hostOrRepository.indexOf('/')
  const host = slash < 0 ? hostOrRepository : hostOrRepository.slice(0, slash)
  const repository = slash < 0 ? '' : hostOrRepository.slice(slash + 1)
  for (const store of stores) {
    const found = await store.get(host, repository)
    if (found) return found
  }
  return undefined
}
