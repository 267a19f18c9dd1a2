// Shared by the incremental-run tests: a Hub model of large sparse LFS shards beside small files,
// what each run downloaded (per file, from the Hub emulator's log or the fault proxy's), the real
// CLI killed with SIGKILL once some large layers are done, and the layers of an image as a
// registry or a layout holds it. Every figure a test asserts on is counted by a server, not by
// modelcar.
import { spawn } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'vitest'
import type { FaultProxy } from '../../tools/fault-proxy/fault-proxy.mjs'
import type { HubEmulator, RepoFileContent } from '../../tools/hub-emulator/hub-emulator.mjs'
import type { Registry } from '../../tools/harness/registry.js'
import type { Descriptor, RawManifest } from '../../tools/harness/tools.js'
import { CLI_BIN, cliEnv, MT, readIndex, readJsonBlob, tagged, TITLE } from '../e2e/support.js'

export const MiB = 1 << 20

// ---------------------------------------------------------------------------------------------
// A model: large shards (sparse, so instant to make and free on disk, yet every byte is served)
// and small files under 1 MiB.

export interface ModelSpec {
  files: Record<string, RepoFileContent>
  /** The shards' paths, each with its size. */
  large: Record<string, number>
  /** Bytes of every file that is not a shard. */
  smallBytes: number
}

/**
 * `shards` LFS files of about `shardBytes` each (each a few KiB apart, so no two have the same
 * content), and four small files.
 */
export function modelSpec(shards: number, shardBytes: number, card = '# big model\n'): ModelSpec {
  const small: Record<string, string> = {
    'config.json': '{"model_type":"llama","hidden_size":4096}\n',
    'generation_config.json': '{"do_sample":false}\n',
    'tokenizer.json': JSON.stringify({ vocab: Array.from({ length: 8000 }, (_, i) => `tok${i}`) }),
    'README.md': `---\nlicense: apache-2.0\n---\n${card}`,
  }
  const large: Record<string, number> = {}
  for (let i = 1; i <= shards; i++) large[shardName(i, shards)] = shardBytes + i * 4096
  const files: Record<string, RepoFileContent> = { ...small }
  for (const [path, size] of Object.entries(large)) files[path] = { sparseSize: size }
  const smallBytes = Object.values(small).reduce((n, s) => n + Buffer.byteLength(s), 0)
  expect(smallBytes).toBeLessThan(MiB)
  return { files, large, smallBytes }
}

export const shardName = (i: number, of: number): string => `model-0000${i}-of-0000${of}.safetensors`

/** A recipe file in `dir`, from YAML for its base, sources and sinks. */
export async function writeRecipe(dir: string, parts: { base?: string; sources: string; sinks: string }): Promise<string> {
  await mkdir(dir, { recursive: true })
  const file = join(dir, 'recipe.yaml')
  await writeFile(file, `apiVersion: modelcar/v1\nbase: ${parts.base ?? 'scratch'}\nsources:\n${parts.sources}sinks:\n${parts.sinks}`)
  return file
}

/** The CLI's environment with no Hub token or registry credentials of the machine's own. */
export function isolatedEnv(home: string): NodeJS.ProcessEnv {
  const env = cliEnv({ HF_HOME: join(home, 'hf'), REGISTRY_AUTH_FILE: join(home, 'no-auth.json') })
  for (const name of ['HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN', 'HF_ENDPOINT', 'AWS_PROFILE']) delete env[name]
  return env
}

// ---------------------------------------------------------------------------------------------
// What a run downloaded

export interface Downloads {
  /** Body bytes of every file route (Hub resolve, CDN; or S3 objects). */
  total: number
  /** The same, by path in the repo (or key under the prefix). */
  byFile: Record<string, number>
}

/** sha256 (hex) → path of each LFS file of a repo at a revision, from the Hub's tree listing. */
export async function lfsPaths(hub: HubEmulator, repo: string, revision: string): Promise<Map<string, string>> {
  const res = await fetch(`${hub.url}/api/models/${repo}/tree/${revision}?recursive=true`)
  expect(res.status).toBe(200)
  const entries = (await res.json()) as { path: string; lfs?: { oid: string } }[]
  return new Map(entries.flatMap((e) => (e.lfs ? [[e.lfs.oid, e.path] as const] : [])))
}

/**
 * What the Hub emulator served from request `from` on: a resolve route names its file; a CDN
 * object is named by its sha256 (`lfs` maps it back to a path).
 */
export function hubDownloads(hub: HubEmulator, from: number, lfs: ReadonlyMap<string, string>): Downloads {
  const out: Downloads = { total: 0, byFile: {} }
  for (const r of hub.requests.slice(from)) {
    if (r.bytes === 0) continue
    const segs = new URL(r.path, hub.url).pathname.split('/').slice(1).map(decodeURIComponent)
    const path = r.host === 'cdn' ? lfs.get(segs.at(-1)!) : segs[2] === 'resolve' ? segs.slice(4).join('/') : undefined
    const key = path ?? `?${r.path}`
    out.total += r.bytes
    out.byFile[key] = (out.byFile[key] ?? 0) + r.bytes
  }
  return out
}

/**
 * The object bytes the fault proxy in front of an S3 server passed on from request `from` on, by
 * key under `bucket/prefix/` (listings are not model bytes, and are left out).
 */
export function s3Downloads(proxy: FaultProxy, from: number, bucket: string, prefix: string): Downloads {
  const out: Downloads = { total: 0, byFile: {} }
  const objects = `/${bucket}/${prefix}/`
  for (const r of proxy.requests.slice(from)) {
    const path = decodeURIComponent(r.path.split('?')[0]!)
    if (r.bytes === 0 || r.method !== 'GET' || !path.startsWith(objects)) continue
    const key = path.slice(objects.length)
    out.total += r.bytes
    out.byFile[key] = (out.byFile[key] ?? 0) + r.bytes
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// The CLI killed half-way

export interface RunEventLine {
  type: string
  layer?: number
  title?: string
  digest?: string
  skipped?: boolean
}

export interface KilledRun {
  /** Whether the CLI was still running when the test killed it (a run that ended first is a failed setup). */
  killed: boolean
  events: RunEventLine[]
  /** The large layers done (layer-done seen) when the kill was sent: each file's path, and the layer's digest. */
  doneBeforeKill: { path: string; digest: string }[]
  stderr: string
}

/**
 * Runs `modelcar ARGS --json` and kills it with SIGKILL (no cleanup of any kind runs) as soon as
 * `count` layers of one file each, that file one of `large` (paths under /models), have sent
 * `layer-done`.
 */
export function runAndKill(args: string[], opts: { env: NodeJS.ProcessEnv; large: readonly string[]; count: number }): Promise<KilledRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_BIN, ...args, '--json'], { env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] })
    const events: RunEventLine[] = []
    const titles = new Map<number, string>()
    const done: KilledRun['doneBeforeKill'] = []
    let doneBeforeKill: KilledRun['doneBeforeKill'] | undefined
    let stderr = ''
    let buffered = ''
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000)
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    child.stdout.on('data', (c: Buffer) => {
      const lines = (buffered + c.toString()).split('\n')
      buffered = lines.pop()!
      for (const line of lines.filter((l) => l.trim())) {
        const e = JSON.parse(line) as RunEventLine
        events.push(e)
        if (e.type === 'layer-start') titles.set(e.layer!, e.title!.replace(/^\/models\//, ''))
        const path = titles.get(e.layer!)
        if (e.type !== 'layer-done' || !path || !opts.large.includes(path)) continue
        done.push({ path, digest: e.digest! })
        if (done.length === opts.count && !doneBeforeKill) {
          doneBeforeKill = [...done]
          child.kill('SIGKILL')
        }
      }
    })
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ killed: signal === 'SIGKILL' && code === null && !!doneBeforeKill, events, doneBeforeKill: doneBeforeKill ?? [], stderr })
    })
  })
}

// ---------------------------------------------------------------------------------------------
// Images

export interface HeldImage {
  /** The digest the tag points at. */
  digest: string
  /** The config blob's digest. */
  config: string
  /** Layer digest by the file it holds (its title annotation). */
  layers: Record<string, string>
  descriptors: Descriptor[]
}

const ACCEPT = [MT.ociManifest, MT.ociIndex].join(', ')

/** The image `repo:tag` in the registry (a single-platform manifest, or the first of an index). */
export async function registryImage(registry: Registry, repo: string, tag: string): Promise<HeldImage> {
  const get = async (ref: string) => {
    const res = await fetch(`${registry.url}/v2/${repo}/manifests/${ref}`, { headers: { Accept: ACCEPT } })
    expect(res.status, `GET manifest ${repo}:${ref}`).toBe(200)
    return { digest: res.headers.get('docker-content-digest')!, doc: (await res.json()) as RawManifest }
  }
  const top = await get(tag)
  const manifest = top.doc.manifests ? (await get(top.doc.manifests[0]!.digest)).doc : top.doc
  return imageOf(top.digest, manifest)
}

/** The image the layout's `tag` points at. */
export async function layoutImage(layout: string, tag = 'latest'): Promise<HeldImage> {
  const entry = tagged(await readIndex(layout), tag)
  const top = await readJsonBlob(layout, entry.digest)
  const manifest = top.manifests ? await readJsonBlob(layout, top.manifests[0]!.digest) : top
  return imageOf(entry.digest, manifest)
}

function imageOf(digest: string, manifest: RawManifest): HeldImage {
  const descriptors = manifest.layers ?? []
  const layers = Object.fromEntries(descriptors.map((l) => [l.annotations?.[TITLE] ?? '?', l.digest]))
  return { digest, config: manifest.config!.digest, layers, descriptors }
}

/**
 * Blob uploads the registry finished since log offset `from` (the PUT that closes an upload, or a
 * monolithic POST, names the digest; a mount names none): what a run pushed, as the registry
 * itself logged it.
 */
export function registryUploads(registry: Registry, from: number, repo: string): string[] {
  const out: string[] = []
  const put = new RegExp(`"(?:PUT|POST) /v2/${repo}/blobs/uploads/[^" ]*[?&]digest=(sha256(?::|%3A)[0-9a-f]{64})[^"]*" 201 `, 'g')
  for (const m of registry.logs().slice(from).matchAll(put)) out.push(m[1]!.replace('%3A', ':'))
  return [...new Set(out)]
}

/** Seconds `fn` took, and what it gave. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const started = performance.now()
  const value = await fn()
  return { seconds: (performance.now() - started) / 1000, value }
}

export const gib = (bytes: number): string => `${(bytes / (1 << 30)).toFixed(2)} GiB`
