// Runs a command in an image with podman the way a Kubernetes node would run the Job's container:
// its argv (no shell: the test base has none), environment, volume mounts, user, read-only root,
// no capabilities, no new privileges, its memory limit — and the host network, so the container
// reaches the Hub emulator and the registry on loopback. Each call has its own podman storage and
// config in a temporary folder (tools/harness's withIsolatedPodman).
import { run, withIsolatedPodman, type RunResult } from '../../tools/harness/tools.js'

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
  return withIsolatedPodman('podman-pod', async (podman) => {
    const args = [
      ...podman.globalArgs,
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
    return run('podman', args, { env: podman.env, timeoutMs: 280_000 })
  })
}
