// A Node.js base image made here, so the modelcar image can be built and run with no network: this
// machine's `node` at /usr/local/bin/node (where node:24-slim has it), the libraries `ldd` names at
// the paths it names them, the `node` user (1000) and a /tmp — one rootfs layer in an OCI layout.
import { createHash } from 'node:crypto'
import { chmod, copyFile, mkdir, readFile, realpath, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { mustRun } from '../../tools/harness/tools.js'

export const NODE_BASE_TAG = 'latest'

const ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64' }

/** The files `ldd` says `binary` loads: `name => /path (…)` and the loader's `/path (…)`. */
async function sharedLibraries(binary: string): Promise<string[]> {
  const { stdout } = await mustRun('ldd', [binary])
  return stdout
    .split('\n')
    .map((line) => /(?:=>\s*)?(\/\S+)\s+\(0x[0-9a-f]+\)/.exec(line)?.[1])
    .filter((p): p is string => p !== undefined)
}

async function put(rootfs: string, path: string, from: string, mode: number): Promise<void> {
  const to = join(rootfs, path)
  await mkdir(dirname(to), { recursive: true })
  await copyFile(await realpath(from), to)
  await chmod(to, mode)
}

async function blob(layout: string, bytes: Buffer | string): Promise<{ digest: string; size: number }> {
  const data = Buffer.from(bytes)
  const hex = createHash('sha256').update(data).digest('hex')
  await writeFile(join(layout, 'blobs', 'sha256', hex), data)
  return { digest: `sha256:${hex}`, size: data.length }
}

/** Writes the layout under `dir` and returns its path (tag NODE_BASE_TAG). */
export async function nodeBaseLayout(dir: string): Promise<string> {
  const rootfs = join(dir, 'rootfs')
  const layout = join(dir, 'layout')
  await put(rootfs, 'usr/local/bin/node', process.execPath, 0o755)
  for (const lib of await sharedLibraries(process.execPath)) await put(rootfs, lib.slice(1), lib, 0o755)
  await mkdir(join(rootfs, 'etc'), { recursive: true })
  await writeFile(
    join(rootfs, 'etc', 'passwd'),
    'root:x:0:0:root:/root:/usr/sbin/nologin\nnode:x:1000:1000::/home/node:/usr/sbin/nologin\n',
  )
  await writeFile(join(rootfs, 'etc', 'group'), 'root:x:0:\nnode:x:1000:\n')
  await mkdir(join(rootfs, 'tmp'))
  await chmod(join(rootfs, 'tmp'), 0o1777)

  await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true })
  const tar = join(dir, 'layer.tar')
  await mustRun('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-C', rootfs, '-cf', tar, '.'])
  const layer = await blob(layout, await readFile(tar))
  const arch = ARCH[process.arch]
  if (!arch) throw new Error(`nodeBaseLayout: no OCI architecture for ${process.arch}`)
  const config = await blob(
    layout,
    JSON.stringify({
      architecture: arch,
      os: 'linux',
      config: { Env: ['PATH=/usr/local/bin:/usr/bin:/bin'] },
      rootfs: { type: 'layers', diff_ids: [layer.digest] },
      history: [{ created_by: `node ${process.version} and the libraries ldd names (modelcar test base)` }],
    }),
  )
  const manifest = await blob(
    layout,
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
    }),
  )
  await writeFile(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}')
  await writeFile(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...manifest,
          platform: { architecture: arch, os: 'linux' },
          annotations: { 'org.opencontainers.image.ref.name': NODE_BASE_TAG },
        },
      ],
    }),
  )
  return layout
}
