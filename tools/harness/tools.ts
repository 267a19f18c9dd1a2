// Runs the real tools that check images (skopeo, umoci, podman), isolated from the machine's own
// credentials and container storage.
import { spawn } from 'node:child_process'
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { tempDir } from './temp.js'

export interface RunResult {
  code: number
  /** Set when the process was killed by a signal (code is then -1). */
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface RunOptions {
  cwd?: string
  env?: NodeJS.ProcessEnv
  /** Written to stdin, which is closed afterwards. */
  input?: string
  /** Kills the process after this long; default 3 minutes, so a hung tool cannot outlive its test. */
  timeoutMs?: number
}

export interface Credentials {
  user: string
  password: string
}

/** Where each binary comes from, for errors that say what to install. */
const DEBIAN_PACKAGE: Record<string, string> = {
  skopeo: 'skopeo',
  umoci: 'umoci',
  podman: 'podman',
  runc: 'runc',
  'docker-registry': 'docker-registry',
  htpasswd: 'apache2-utils',
  busybox: 'busybox-static',
}

/** Flags whose value is a secret: never shown in an error. */
const SECRET_FLAGS = new Set(['--creds', '--src-creds', '--dest-creds', '--password', '-p'])

export class MissingToolError extends Error {
  override name = 'MissingToolError'
}

export class CommandFailedError extends Error {
  override name = 'CommandFailedError'
  constructor(
    readonly command: string,
    readonly result: RunResult,
  ) {
    super(
      `${command} ${result.signal ? `was killed by ${result.signal}` : `exited ${result.code}`}\n` +
        `--- stderr ---\n${result.stderr.trimEnd()}\n--- stdout ---\n${result.stdout.trimEnd()}`,
    )
  }
}

/** Runs a command to completion. Never rejects on a non-zero exit; rejects when the binary is missing. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] })
    const stdout: Buffer[] = []
    const stderr: Buffer[] = []
    child.stdout.on('data', (c: Buffer) => stdout.push(c))
    child.stderr.on('data', (c: Buffer) => stderr.push(c))
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 180_000)
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      if (err.code === 'ENOENT') {
        const pkg = DEBIAN_PACKAGE[cmd]
        reject(
          new MissingToolError(
            pkg
              ? `\`${cmd}\` is not installed (Debian package ${pkg}); run: node tools/provision/provision.mjs`
              : `\`${cmd}\` is not installed or not on PATH`,
          ),
        )
      } else reject(err)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code: code ?? -1, signal, stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString() })
    })
    // A tool that exits without reading stdin makes the write fail with EPIPE; its exit code tells more.
    child.stdin.on('error', () => {})
    child.stdin.end(opts.input ?? '')
  })
}

/** Like run(), but a non-zero exit rejects with a CommandFailedError carrying stdout and stderr. */
export async function mustRun(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const result = await run(cmd, args, opts)
  if (result.code !== 0) throw new CommandFailedError(describeCommand(cmd, args), result)
  return result
}

/** The command line for messages, with credentials replaced by `user:***`. */
export function describeCommand(cmd: string, args: readonly string[]): string {
  const hide = (value: string) => value.replace(/:.*$/s, ':***')
  const shown = args.map((arg, i) => {
    const eq = arg.indexOf('=')
    if (eq > 0 && SECRET_FLAGS.has(arg.slice(0, eq))) return `${arg.slice(0, eq)}=${hide(arg.slice(eq + 1))}`
    const prev = args[i - 1]
    if (prev !== undefined && SECRET_FLAGS.has(prev)) return prev === '-p' || prev === '--password' ? '***' : hide(arg)
    return arg
  })
  return [cmd, ...shown].map((a) => (/^[\w@%+=:,./*-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ')
}

// ---------------------------------------------------------------------------------------------
// skopeo

export interface Platform {
  architecture: string
  os: string
  variant?: string
  'os.version'?: string
  'os.features'?: string[]
}

export interface Descriptor {
  mediaType: string
  digest: string
  size: number
  annotations?: Record<string, string>
  platform?: Platform
  artifactType?: string
  urls?: string[]
}

/** An image manifest, image index or Docker manifest list, as far as the tests look into it. */
export interface RawManifest {
  schemaVersion: number
  mediaType?: string
  artifactType?: string
  config?: Descriptor
  layers?: Descriptor[]
  manifests?: Descriptor[]
  subject?: Descriptor
  annotations?: Record<string, string>
}

/** What `skopeo inspect` prints (for an index: the image for this machine's platform). */
export interface SkopeoInspectOutput {
  Name?: string
  Digest: string
  RepoTags: string[] | null
  Created?: string
  DockerVersion: string
  Labels: Record<string, string> | null
  Architecture: string
  Os: string
  Variant?: string
  Layers: string[]
  Env: string[] | null
}

export interface RegistryAccess {
  /** Basic-auth credentials; without them skopeo is told to go anonymous (no auth file lookup). */
  creds?: Credentials
  /** Default false: the test registry speaks plain HTTP on loopback. */
  tlsVerify?: boolean
}

/**
 * Pushes an image layout to a registry the way the docs tell users to: `--preserve-digests` (else
 * skopeo recompresses and every digest changes) and `--multi-arch all` (else an index loses platforms).
 * layoutRef is "PATH:TAG", dest is "HOST:PORT/REPO:TAG".
 */
export function skopeoCopyToRegistry(layoutRef: string, dest: string, opts: RegistryAccess = {}): Promise<RunResult> {
  return mustRun('skopeo', [
    '--insecure-policy',
    'copy',
    '--preserve-digests',
    '--multi-arch',
    'all',
    `--dest-tls-verify=${opts.tlsVerify ?? false}`,
    ...(opts.creds ? ['--dest-creds', `${opts.creds.user}:${opts.creds.password}`] : ['--dest-no-creds']),
    `oci:${layoutRef}`,
    `docker://${dest}`,
  ])
}

/**
 * `skopeo inspect --raw` (parsed, and as text: its sha256 is the manifest digest) and `skopeo inspect`
 * of a full transport reference: "oci:PATH:TAG" or "docker://HOST:PORT/REPO:TAG".
 */
export async function skopeoInspect(
  ref: string,
  opts: RegistryAccess = {},
): Promise<{ raw: RawManifest; rawText: string; inspect: SkopeoInspectOutput }> {
  const access = ref.startsWith('docker://')
    ? [
        `--tls-verify=${opts.tlsVerify ?? false}`,
        ...(opts.creds ? ['--creds', `${opts.creds.user}:${opts.creds.password}`] : ['--no-creds']),
      ]
    : []
  const rawText = (await mustRun('skopeo', ['--insecure-policy', 'inspect', '--raw', ...access, ref])).stdout
  const inspect = (await mustRun('skopeo', ['--insecure-policy', 'inspect', ...access, ref])).stdout
  return { raw: JSON.parse(rawText) as RawManifest, rawText, inspect: JSON.parse(inspect) as SkopeoInspectOutput }
}

// ---------------------------------------------------------------------------------------------
// umoci

/** Unpacks "PATH:TAG" into bundleDir (which must not exist yet); returns the root filesystem's path. */
export async function umociUnpack(layoutRef: string, bundleDir: string): Promise<string> {
  // Without root, umoci cannot chown to the image's owners: --rootless maps them to the caller.
  const rootless = process.getuid?.() !== 0 ? ['--rootless'] : []
  await mustRun('umoci', ['unpack', ...rootless, '--image', layoutRef, bundleDir])
  return join(bundleDir, 'rootfs')
}

// ---------------------------------------------------------------------------------------------
// podman

export interface PodmanRunOptions {
  /** e.g. "linux/arm64"; selects the image from an index (running it needs that CPU or binfmt). */
  platform?: string
  /** Default false: the test registry speaks plain HTTP on loopback. */
  tlsVerify?: boolean
}

/** Transports podman reads without a registry; --tls-verify does not apply to them. */
const LOCAL_TRANSPORT = /^(oci|oci-archive|docker-archive|dir|containers-storage):/

/** What a path must look like for podman to name an image after it (a reference's path components). */
const NAMEABLE_PATH = /^(\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)+$/

/**
 * podman names an image pulled from `oci:PATH` "localhost/PATH", which fails for paths a reference
 * cannot hold (upper case, a `.work` folder): such a layout is linked into dir under a plain name.
 */
async function nameableImage(image: string, dir: string): Promise<string> {
  if (!image.startsWith('oci:')) return image
  const rest = image.slice('oci:'.length)
  const colon = rest.lastIndexOf(':')
  const [path, tag] = colon > 0 && !rest.slice(colon).includes('/') ? [rest.slice(0, colon), rest.slice(colon + 1)] : [rest, '']
  if (NAMEABLE_PATH.test(path)) return image
  const link = join(dir, 'layout')
  if (!NAMEABLE_PATH.test(link)) throw new Error(`podmanRun: cannot name an image after ${link}; set TMPDIR to a lowercase path`)
  await symlink(resolve(path), link)
  return `oci:${link}${tag ? `:${tag}` : ''}`
}

/**
 * Runs `/bin/sh -c command` in image ("oci:PATH:TAG" or "HOST:PORT/REPO:TAG") and returns stdout.
 * Each call gets its own podman storage, state, locks and config in a temporary folder, removed
 * afterwards: tests never share (or leave behind) images, containers or lock state.
 */
export async function podmanRun(image: string, command: string, opts: PodmanRunOptions = {}): Promise<string> {
  return withIsolatedPodman('podman', async (podman) => {
    const args = [
      ...podman.globalArgs,
      'run',
      '--rm',
      '--network',
      'none',
      '--ulimit',
      'host',
      ...(LOCAL_TRANSPORT.test(image) ? [] : [`--tls-verify=${opts.tlsVerify ?? false}`]),
      ...(opts.platform ? ['--platform', opts.platform] : []),
      await nameableImage(image, podman.dir),
      '/bin/sh',
      '-c',
      command,
    ]
    return (await mustRun('podman', args, { env: podman.env })).stdout
  })
}

/** A podman of its own: storage, state, locks and config in `dir`, with the arguments and environment that point it there. */
export interface IsolatedPodman {
  dir: string
  env: NodeJS.ProcessEnv
  /** Global options (before `run`): its storage, runc with cgroupfs, vfs. */
  globalArgs: string[]
}

/**
 * Runs `work` with a podman of its own in a temporary folder, removed afterwards: tests never share
 * (or leave behind) images, containers or lock state.
 */
export async function withIsolatedPodman<T>(label: string, work: (podman: IsolatedPodman) => Promise<T>): Promise<T> {
  const dir = await tempDir(label)
  try {
    const paths = { root: join(dir.path, 'root'), runroot: join(dir.path, 'runroot'), tmp: join(dir.path, 'tmp') }
    for (const p of Object.values(paths)) await mkdir(p)
    const conf = (name: string, text: string) => writeFile(join(dir.path, name), text).then(() => join(dir.path, name))
    const env = {
      ...process.env,
      // default_ulimits: podman's defaults fail here on rlimits. file locks in tmp_dir instead of
      // the machine-wide /dev/shm segment; no events, since journald may be absent.
      CONTAINERS_CONF: await conf(
        'containers.conf',
        '[containers]\ndefault_ulimits = []\n\n[engine]\nevents_logger = "none"\nlock_type = "file"\n' +
          `tmp_dir = ${JSON.stringify(paths.tmp)}\n\n[network]\nnetwork_config_dir = ${JSON.stringify(join(dir.path, 'networks'))}\n`,
      ),
      // The machine's storage.conf may carry options of another driver (overlay) that vfs rejects.
      CONTAINERS_STORAGE_CONF: await conf(
        'storage.conf',
        `[storage]\ndriver = "vfs"\nrunroot = ${JSON.stringify(paths.runroot)}\ngraphroot = ${JSON.stringify(paths.root)}\n`,
      ),
      // Images are fully qualified; no search registries means no short-name surprises.
      CONTAINERS_REGISTRIES_CONF: await conf('registries.conf', 'unqualified-search-registries = []\n'),
      REGISTRY_AUTH_FILE: await conf('auth.json', '{}\n'),
    }
    // crun fails on cgroups here, systemd may be absent: runc with cgroupfs works on the CI machines.
    const globalArgs = [
      '--root',
      paths.root,
      '--runroot',
      paths.runroot,
      '--tmpdir',
      paths.tmp,
      '--runtime',
      'runc',
      '--storage-driver',
      'vfs',
      '--cgroup-manager',
      'cgroupfs',
    ]
    return await work({ dir: dir.path, env, globalArgs })
  } finally {
    await unmountUnder(dir.path)
    await dir.cleanup()
  }
}

/** A podman that died mid-run can leave mounts (the container's /dev/shm) that make rm fail with EBUSY. */
async function unmountUnder(dir: string): Promise<void> {
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '')
  const points = mountinfo
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8))))
    .filter((p) => p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length)
  for (const point of points) await run('umount', ['-l', point])
}
