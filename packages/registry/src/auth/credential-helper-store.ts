// The docker-credential-* protocol: `docker-credential-<name> get` with the server URL on stdin,
// JSON {ServerURL, Username, Secret} on stdout. The store behind `credHelpers` and `credsStore`.
import { spawn } from 'node:child_process'
import { authErrors } from './auth-errors.js'
import { DOCKER_HUB_LEGACY_KEY, DOCKER_HUB_NAMES, type CredentialStore, type Env, type RegistryCredentials } from './credential-store.js'

/** Helpers talk to keychains and cloud APIs; one that hangs must not hang the run. */
const HELPER_TIMEOUT_MS = 60_000

/** What helpers print when they hold nothing for the server (docker-credential-helpers' `credentials.ErrCredentialsNotFound`). */
const NOT_FOUND = /credentials not found/i

/** The store of helper `name`: asked with the URL Docker gives helpers (the v1 URL for Docker Hub, the host otherwise). */
export function credentialHelperStore(name: string, env: Env): CredentialStore {
  return {
    name: `docker-credential-${name}`,
    get: (host) => getFromCredentialHelper(name, DOCKER_HUB_NAMES.has(host) ? DOCKER_HUB_LEGACY_KEY : host, env),
  }
}

/**
 * Asks helper `name` for the credentials of serverUrl. Resolves undefined when the helper holds none.
 * env is the run's environment (its PATH finds the helper); nothing from process.env leaks in.
 */
export async function getFromCredentialHelper(name: string, serverUrl: string, env: Env): Promise<RegistryCredentials | undefined> {
  const binary = `docker-credential-${name}`
  const result = await runHelper(binary, serverUrl, env)
  if (result.code !== 0) {
    if (NOT_FOUND.test(result.stdout) || NOT_FOUND.test(result.stderr)) return undefined
    // Helpers print their error on stdout; it is a message, not a secret (the secret is only in JSON).
    const said = firstLine(result.stderr) || firstLine(result.stdout)
    throw authErrors.registryCredentialsUnreadable(
      binary,
      `\`${binary} get\` ${result.signal ? `was killed by ${result.signal}` : `exited ${result.code}`}${said ? `: ${said}` : ''}`,
      `run \`echo ${serverUrl} | ${binary} get\` to see what the helper says`,
    )
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(result.stdout)
  } catch {
    // stdout may hold the secret in a broken form: do not quote it.
    throw authErrors.registryCredentialsUnreadable(binary, `\`${binary} get\` did not print JSON`)
  }
  const obj = (parsed ?? {}) as { Username?: unknown; Secret?: unknown }
  const username = typeof obj.Username === 'string' ? obj.Username : ''
  const secret = typeof obj.Secret === 'string' ? obj.Secret : ''
  if (!secret) return undefined
  // Docker's convention: user "<token>" means the secret is an identity (OAuth2 refresh) token.
  if (username === '<token>') return { identityToken: secret, source: binary }
  return { username, password: secret, source: binary }
}

interface HelperResult {
  code: number
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

function runHelper(binary: string, input: string, env: Env): Promise<HelperResult> {
  const childEnv: Record<string, string> = {}
  for (const [k, v] of Object.entries(env)) if (v !== undefined) childEnv[k] = v
  return new Promise((resolve, reject) => {
    // With options.env given, spawn looks the binary up on that env's PATH.
    const child = spawn(binary, ['get'], { env: childEnv, stdio: ['pipe', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (c: Buffer) => out.push(c))
    child.stderr.on('data', (c: Buffer) => err.push(c))
    const timer = setTimeout(() => child.kill('SIGKILL'), HELPER_TIMEOUT_MS)
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      reject(e.code === 'ENOENT' || e.code === 'EACCES' ? helperMissing(binary, e.code) : e)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code: code ?? -1, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() })
    })
    child.stdin.on('error', () => {})
    child.stdin.end(input)
  })
}

function helperMissing(binary: string, code: 'ENOENT' | 'EACCES'): Error {
  return authErrors.registryCredentialsUnreadable(
    binary,
    code === 'ENOENT' ? `\`${binary}\` is not on PATH` : `\`${binary}\` is not executable`,
    `install \`${binary}\`, or remove the helper from credHelpers/credsStore in the config file that names it`,
  )
}

function firstLine(text: string): string {
  const line = text.trim().split('\n')[0] ?? ''
  return line.length > 200 ? `${line.slice(0, 200)}…` : line
}
