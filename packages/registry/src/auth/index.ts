// Registry authentication: credentials as podman, skopeo and Docker keep them; Basic and Bearer.
export { createRegistryAuth, normalizeScopes, type RegistryAuth, type RegistryAuthOptions } from './registry-auth.js'
export { authFilePaths, findCredentials, type AuthFile, type Env, type RegistryCredentials } from './credentials.js'
export { getFromCredentialHelper } from './credential-helper.js'
export { parseWwwAuthenticate, pickChallenge, type AuthChallenge } from './www-authenticate.js'
export { describeScopes, requestToken, type Token, type TokenRequest } from './token-client.js'
