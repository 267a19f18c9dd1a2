// The auth files podman, skopeo and Docker write (containers/image pkg/docker/config), as
// credential stores: `auths` entries keyed by host or repository namespace, and the helpers a file
// names for a host (`credHelpers`) or for everything else (`credsStore`).
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { authErrors } from './auth-errors.js'
import { credentialHelperStore } from './credential-helper-store.js'
import { DOCKER_HUB_LEGACY_KEY, DOCKER_HUB_NAMES, type CredentialStore, type Env, type RegistryCredentials } from './credential-store.js'

export interface AuthFile {
  path: string
  /** `~/.dockercfg`: the top level is the `auths` map itself. */
  legacy: boolean
}

interface AuthEntry {
  auth?: unknown
  username?: unknown
  password?: unknown
  identitytoken?: unknown
}

interface ConfigFile {
  auths?: Record<string, AuthEntry>
  credHelpers?: Record<string, string>
  credsStore?: string
}

/**
 * The auth files to read, in order. REGISTRY_AUTH_FILE replaces the whole list, as it does for
 * podman and skopeo (containers/image reads only a user-specified file).
 */
export function authFilePaths(env: Env): AuthFile[] {
  if (env.REGISTRY_AUTH_FILE) return [{ path: env.REGISTRY_AUTH_FILE, legacy: false }]
  const home = env.HOME
  const files: AuthFile[] = []
  // Without XDG_RUNTIME_DIR containers/image uses /run/containers/<uid>; process.getuid is not the environment.
  const runtimeDir = env.XDG_RUNTIME_DIR || (process.getuid ? `/run/containers/${process.getuid()}` : undefined)
  if (runtimeDir)
    files.push({ path: env.XDG_RUNTIME_DIR ? join(runtimeDir, 'containers', 'auth.json') : join(runtimeDir, 'auth.json'), legacy: false })
  const configHome = env.XDG_CONFIG_HOME || (home ? join(home, '.config') : undefined)
  if (configHome) files.push({ path: join(configHome, 'containers', 'auth.json'), legacy: false })
  if (env.DOCKER_CONFIG) files.push({ path: join(env.DOCKER_CONFIG, 'config.json'), legacy: false })
  else if (home) files.push({ path: join(home, '.docker', 'config.json'), legacy: false })
  if (home) files.push({ path: join(home, '.dockercfg'), legacy: true })
  return files
}

/** One auth file as a store; it is read on every get (the user may log in while a run waits). */
export function authFileStore(file: AuthFile, env: Env): CredentialStore {
  return {
    name: file.path,
    async get(host, repository) {
      const config = await readAuthFile(file)
      return config ? findInConfig(config, file, host, repository, env) : undefined
    },
  }
}

async function findInConfig(
  config: ConfigFile,
  file: AuthFile,
  host: string,
  repository: string,
  env: Env,
): Promise<RegistryCredentials | undefined> {
  const hub = DOCKER_HUB_NAMES.has(host)
  const hostKeys = hub ? ['docker.io', DOCKER_HUB_LEGACY_KEY, 'index.docker.io', 'registry-1.docker.io'] : [host]

  // 1. A helper named for this host wins over everything in the file, as in Docker and containers/image.
  const helpers = isStringMap(config.credHelpers) ? config.credHelpers : {}
  const helper = hostKeys.map((key) => helpers[key]).find(Boolean)
  if (helper) return credentialHelperStore(helper, env).get(host, repository)

  // 2. `auths`: exact keys from the most specific repository namespace down to the host …
  const auths = config.auths && typeof config.auths === 'object' ? config.auths : {}
  const keys: string[] = []
  if (!file.legacy && repository) {
    const parts = repository.split('/')
    for (let i = parts.length; i >= 1; i--) keys.push(`${hub ? 'docker.io' : host}/${parts.slice(0, i).join('/')}`)
  }
  keys.push(...hostKeys)
  for (const key of keys) {
    const entry = auths[key]
    const creds = entry && decodeEntry(entry, file.path, key)
    if (creds) return creds
  }
  // … then keys Docker once wrote as URLs (`https://host/v1/`, `http://host`), compared by host.
  const wanted = normalizeKey(host)
  for (const [key, entry] of Object.entries(auths)) {
    if (keys.includes(key) || !entry || normalizeKey(key) !== wanted) continue
    const creds = decodeEntry(entry, file.path, key)
    if (creds) return creds
  }

  // 3. Docker's default store for everything not named in credHelpers.
  if (typeof config.credsStore === 'string' && config.credsStore) return credentialHelperStore(config.credsStore, env).get(host, repository)
  return undefined
}

async function readAuthFile(file: AuthFile): Promise<ConfigFile | undefined> {
  let text: string
  try {
    text = await readFile(file.path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
    throw authErrors.registryCredentialsUnreadable(file.path, (err as Error).message)
  }
  if (!text.trim()) return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    // The parser's message quotes a bit of the text, which may be a secret: say only where.
    const at = /position (\d+)/.exec((err as Error).message)?.[1]
    throw authErrors.registryCredentialsUnreadable(
      file.path,
      `not valid JSON${at ? ` (at character ${at})` : ''}`,
      'fix the file, or log in again to rewrite it',
    )
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw authErrors.registryCredentialsUnreadable(file.path, 'not a JSON object')
  }
  if (file.legacy) return { auths: parsed as Record<string, AuthEntry> }
  return parsed as ConfigFile
}

/** `https://index.docker.io/v1/` → `docker.io`; `http://host:5000/v2` → `host:5000`. */
function normalizeKey(key: string): string {
  const host = key.replace(/^https?:\/\//, '').split('/')[0] ?? ''
  return DOCKER_HUB_NAMES.has(host) ? 'docker.io' : host
}

function decodeEntry(entry: AuthEntry, path: string, key: string): RegistryCredentials | undefined {
  const identityToken = typeof entry.identitytoken === 'string' && entry.identitytoken ? entry.identitytoken : undefined
  let username: string | undefined
  let password: string | undefined
  if (typeof entry.auth === 'string' && entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon < 0 || !/^[A-Za-z0-9+/=\s]+$/.test(entry.auth)) {
      throw authErrors.registryCredentialsUnreadable(
        path,
        `the \`auth\` of \`${key}\` is not base64 of \`user:password\``,
        'log in again to rewrite the entry',
      )
    }
    username = decoded.slice(0, colon)
    password = decoded.slice(colon + 1)
  } else if (typeof entry.username === 'string' && typeof entry.password === 'string' && entry.password) {
    // Some tools write the pair in clear instead of `auth`.
    username = entry.username
    password = entry.password
  }
  // An empty entry (`{}`) is what `docker login` leaves when a credsStore holds the secret.
  if (!password && !identityToken) return undefined
  return {
    ...(username !== undefined ? { username } : {}),
    ...(password ? { password } : {}),
    ...(identityToken ? { identityToken } : {}),
    source: path,
  }
}

function isStringMap(value: unknown): value is Record<string, string> {
  return !!value && typeof value === 'object' && !Array.isArray(value)
}
