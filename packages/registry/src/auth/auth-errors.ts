// Registry authentication's errors, one factory per code. `where` is "<status> <METHOD> <url without
// query>"; `source` is a file path or `docker-credential-<helper>`: never a secret.
import { ModelcarError } from '@modelcar/core'

export const authErrors = {
  registryCredentialsRequired(host: string, where: string): ModelcarError {
    return new ModelcarError('REGISTRY_CREDENTIALS_REQUIRED', `\`${host}\` needs credentials [${where}]`, {
      hint: `log in with \`podman login ${host}\` (or \`docker login ${host}\`), or point REGISTRY_AUTH_FILE at an auth.json holding them`,
      input: true,
    })
  },
  registryCredentialsRejected(host: string, source: string, where: string): ModelcarError {
    return new ModelcarError('REGISTRY_CREDENTIALS_REJECTED', `wrong credentials for \`${host}\` (from \`${source}\`) [${where}]`, {
      hint: `log in again with \`podman login ${host}\`; the user name or password (or token) is not accepted`,
      input: true,
    })
  },
  registryAccessDenied(host: string, what: string, source: string | undefined, where: string): ModelcarError {
    return new ModelcarError('REGISTRY_ACCESS_DENIED', `access to ${what} on \`${host}\` is denied [${where}]`, {
      hint: source
        ? `the account from \`${source}\` lacks that permission; ask for it, or use another account`
        : `no credentials were sent: log in with \`podman login ${host}\` if an account has that permission`,
      input: true,
    })
  },
  registryCredentialsUnreadable(source: string, why: string, hint?: string): ModelcarError {
    return new ModelcarError('REGISTRY_CREDENTIALS_UNREADABLE', `cannot read registry credentials from \`${source}\`: ${why}`, {
      hint,
      input: true,
    })
  },
  registryCredentialsInsecure(host: string, url: string): ModelcarError {
    return new ModelcarError('REGISTRY_CREDENTIALS_INSECURE', `credentials for \`${host}\` would be sent unencrypted to \`${url}\``, {
      hint: `use https, or declare \`${host}\` insecure if this plain-HTTP registry is trusted`,
      input: true,
    })
  },
  registryAuthFailed(host: string, why: string, retryable = false): ModelcarError {
    return new ModelcarError('REGISTRY_AUTH_FAILED', `authentication with \`${host}\` failed: ${why}`, { retryable })
  },
  /** A 401 that names neither Basic nor Bearer: nothing we could answer. */
  noChallenge(host: string, where: string): ModelcarError {
    return authErrors.registryAuthFailed(host, `the registry answered 401 without a Basic or Bearer challenge [${where}]`)
  },
  /** An identity token is only good for a token server's OAuth2 endpoint; Basic needs a password. */
  passwordWanted(host: string, source: string, where: string): ModelcarError {
    return authErrors.registryAuthFailed(
      host,
      `the registry wants a password (Basic), but \`${source}\` holds only an identity token [${where}]`,
    )
  },
}
