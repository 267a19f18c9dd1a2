// Starts a real distribution registry (Debian's docker-registry 2.8) on loopback for one test file.
import { spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { createServer, type AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { RegistryTokenAuth } from '../token-server/token-server.mjs'
import { tempDir } from './temp.js'
import { MissingToolError, mustRun, type Credentials } from './tools.js'

export interface RegistryOptions {
  /** Require HTTP basic auth with this one user (bcrypt htpasswd entry; the registry rejects MD5). */
  htpasswd?: Credentials
  /**
   * Require Bearer tokens from a token server (`auth.token`): pass a started token server's
   * `registryAuth` (tools/token-server). Exclusive with htpasswd.
   */
  token?: RegistryTokenAuth
}

export interface Registry {
  /** "127.0.0.1:PORT", the registry part of an image reference. */
  host: string
  /** "http://127.0.0.1:PORT" */
  url: string
  /** Everything the registry printed so far: access lines and "response completed" lines with method and URI. */
  logs(): string
  /** Kills the registry and removes its storage; safe to call twice. */
  stop(): Promise<void>
}

const START_TIMEOUT_MS = 15_000

export async function startRegistry(opts: RegistryOptions = {}): Promise<Registry> {
  // A free port can be taken between probing and binding; a fresh one fixes that.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(await freePort(), opts)
    } catch (err) {
      if (attempt >= 3 || !(err instanceof PortInUseError)) throw err
    }
  }
}

class PortInUseError extends Error {}

async function startOnce(port: number, opts: RegistryOptions): Promise<Registry> {
  const dir = await tempDir('registry')
  const host = `127.0.0.1:${port}`
  const url = `http://${host}`
  const configPath = await writeConfig(dir.path, host, opts).catch(async (err: unknown) => {
    await dir.cleanup()
    throw err
  })

  const output: string[] = []
  const child = spawn('docker-registry', ['serve', configPath], { stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout.on('data', (c: Buffer) => output.push(c.toString()))
  child.stderr.on('data', (c: Buffer) => output.push(c.toString()))
  const logs = () => output.join('')

  let exited = false
  let spawnFailure: Error | undefined
  const exit = new Promise<void>((resolve) => {
    child.on('close', () => {
      exited = true
      resolve()
    })
    child.on('error', (err: NodeJS.ErrnoException) => {
      exited = true
      spawnFailure =
        err.code === 'ENOENT'
          ? new MissingToolError(
              '`docker-registry` is not installed (Debian package docker-registry); run: node tools/provision/provision.mjs',
            )
          : err
      resolve()
    })
  })
  // A test runner that exits without calling stop() must not leave a registry behind.
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)

  let stopped: Promise<void> | undefined
  const stop = () =>
    (stopped ??= (async () => {
      process.removeListener('exit', killOnExit)
      if (!exited) {
        child.kill('SIGTERM')
        const killed = setTimeout(() => child.kill('SIGKILL'), 5_000)
        await exit
        clearTimeout(killed)
      }
      await dir.cleanup()
    })())

  try {
    await waitUntilServing(
      url,
      () => exited,
      logs,
      () => spawnFailure,
    )
  } catch (err) {
    await stop()
    throw err
  }
  return { host, url, logs, stop }
}

async function writeConfig(dir: string, host: string, opts: RegistryOptions): Promise<string> {
  let auth = ''
  if (opts.htpasswd && opts.token) throw new Error('startRegistry: htpasswd and token auth exclude each other')
  if (opts.token) {
    const t = opts.token
    auth =
      'auth:\n  token:\n' +
      `    realm: ${JSON.stringify(t.realm)}\n    service: ${JSON.stringify(t.service)}\n` +
      `    issuer: ${JSON.stringify(t.issuer)}\n    rootcertbundle: ${JSON.stringify(t.rootCertBundle)}\n`
  }
  if (opts.htpasswd) {
    // The password goes through stdin (-i), not the command line where ps would show it.
    const entry = await mustRun('htpasswd', ['-n', '-i', '-B', opts.htpasswd.user], { input: opts.htpasswd.password })
    await writeFile(join(dir, 'htpasswd'), entry.stdout.trim() + '\n')
    auth = `auth:\n  htpasswd:\n    realm: basic-realm\n    path: ${JSON.stringify(join(dir, 'htpasswd'))}\n`
  }
  // A fixed secret: upload URLs carry state signed with it (a random one breaks resumed uploads).
  const config =
    'version: 0.1\n' +
    'log:\n  level: info\n  accesslog:\n    disabled: false\n' +
    `storage:\n  filesystem:\n    rootdirectory: ${JSON.stringify(join(dir, 'data'))}\n  delete:\n    enabled: true\n` +
    `http:\n  addr: ${host}\n  secret: modelcar-test-secret\n` +
    auth
  const configPath = join(dir, 'config.yml')
  await writeFile(configPath, config)
  return configPath
}

async function waitUntilServing(
  url: string,
  hasExited: () => boolean,
  logs: () => string,
  spawnFailure: () => Error | undefined,
): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS
  while (Date.now() < deadline) {
    const failure = spawnFailure()
    if (failure) throw failure
    if (hasExited()) {
      const text = logs()
      if (/address already in use/.test(text)) throw new PortInUseError(text)
      throw new Error(`docker-registry exited during start-up:\n${text}`)
    }
    try {
      // 401 counts: with htpasswd the registry is up and asking for credentials.
      const res = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1_000) })
      await res.arrayBuffer()
      if (res.status === 200 || res.status === 401) return
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`docker-registry did not answer GET ${url}/v2/ within ${START_TIMEOUT_MS} ms:\n${logs()}`)
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })
}
