// Runs a command in an image with podman the way a Kubernetes node would run the Job's container:
// its argv (no shell: the test base has none), environment, volume mounts, user, read-only root,
// no capabilities, no new privileges, its memory limit — and the host network, so the container
// reaches the Hub emulator and the registry on loopback. Each call has its own podman storage and
// config in a temporary folder (tools/harness podmanRun's isolation, which runs `sh -c` with no network).
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { tempDir } from '../../tools/harness/temp.js'
import { run, type RunResult } from '../../tools/harness/tools.js'

export interface ContainerRun {
  env?: Record<string, string>
  mounts?: { path: string; host: string; readOnly: boolean }[]
  /** `uid:gid` */
  user?: string
  readOnly?: boolean
  /** e.g. `768m` */
  memory?: string
}

/** `podman run IMAGE ARGV…`; never rejects on the command's exit (the result says it). */
export async function podmanRunArgv(image: string, argv: string[], o: ContainerRun = {}): Promise<RunResult> {
  const dir = await tempDir('podman-pod')
  try {
    const paths = { root: join(dir.path, 'root'), runroot: join(dir.path, 'runroot'), tmp: join(dir.path, 'tmp') }
    for (const p of Object.values(paths)) await mkdir(p)
    const conf = (name: string, text: string) => writeFile(join(dir.path, name), text).then(() => join(dir.path, name))
    const env = {
      ...process.env,
      CONTAINERS_CONF: await conf(
        'containers.conf',
        '[containers]\ndefault_ulimits = []\n\n[engine]\nevents_logger = "none"\nlock_type = "file"\n' +
          `tmp_dir = ${JSON.stringify(paths.tmp)}\n\n[network]\nnetwork_config_dir = ${JSON.stringify(join(dir.path, 'networks'))}\n`,
      ),
      CONTAINERS_STORAGE_CONF: await conf(
        'storage.conf',
        `[storage]\ndriver = "vfs"\nrunroot = ${JSON.stringify(paths.runroot)}\ngraphroot = ${JSON.stringify(paths.root)}\n`,
      ),
      CONTAINERS_REGISTRIES_CONF: await conf('registries.conf', 'unqualified-search-registries = []\n'),
      REGISTRY_AUTH_FILE: await conf('auth.json', '{}\n'),
    }
    const args = [
      ...['--root', paths.root, '--runroot', paths.runroot, '--tmpdir', paths.tmp],
      ...['--runtime', 'runc', '--storage-driver', 'vfs', '--cgroup-manager', 'cgroupfs'],
      ...['run', '--rm', '--network', 'host', '--ulimit', 'host', '--tls-verify=false'],
      ...['--cap-drop', 'all', '--security-opt', 'no-new-privileges'],
      ...(o.readOnly ? ['--read-only'] : []),
      ...(o.user ? ['--user', o.user] : []),
      ...(o.memory ? ['--memory', o.memory] : []),
      ...(o.mounts ?? []).flatMap((m) => ['--volume', `${m.host}:${m.path}${m.readOnly ? ':ro' : ''}`]),
      ...Object.entries(o.env ?? {}).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
      image,
      ...argv,
    ]
    return await run('podman', args, { env, timeoutMs: 280_000 })
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
