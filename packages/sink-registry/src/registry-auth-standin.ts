// TEMPORARY stand-in until src/auth lands: Basic credentials from REGISTRY_AUTH_FILE only.
import { readFileSync } from 'node:fs'
import type { RegistryAuth, RegistryAuthOptions } from './client/registry-auth.js'

export function createRegistryAuth(opts: RegistryAuthOptions): RegistryAuth {
  const basic = (host: string): string | undefined => {
    const file = opts.env.REGISTRY_AUTH_FILE
    if (!file) return undefined
    try {
      const auths = (JSON.parse(readFileSync(file, 'utf8')) as { auths?: Record<string, { auth?: string }> }).auths ?? {}
      const auth = auths[host]?.auth
      if (auth) opts.secret(auth)
      return auth
    } catch {
      return undefined
    }
  }
  return {
    async fetch(url, init, _scopes) {
      const auth = basic(new URL(url).host)
      const headers = new Headers(init.headers)
      if (auth) headers.set('authorization', `Basic ${auth}`)
      return opts.fetch(url, { ...init, headers })
    },
    async prepare() {},
    async describe(host) {
      return basic(host) ? opts.env.REGISTRY_AUTH_FILE : undefined
    },
  }
}
