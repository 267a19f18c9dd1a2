// Shared by the catalogue tests: models of random bytes on the Hub emulator (so a pulled file can
// only match if every byte made it), what the emulator served each repo (from its own request
// log), what the registry holds and logged, images pulled back and unpacked by GNU tar, and the
// summary table of `modelcar mirror` read back. Every figure a test asserts on is counted by a
// server or a tool, not by modelcar.
import { randomBytes } from 'node:crypto'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'vitest'
import type { HubEmulator } from '../../tools/hub-emulator/hub-emulator.mjs'
import type { Registry } from '../../tools/harness/registry.js'
import { mustRun, type RawManifest, type RunResult } from '../../tools/harness/tools.js'
import { cliEnv, MT, sha256, TITLE } from '../e2e/support.js'

export const MiB = 1 << 20

// ---------------------------------------------------------------------------------------------
// Models

export interface HubModel {
  /** The Hub repo: `acme/<name>`. */
  repo: string
  /** The catalogue's name for it (the repo's name). */
  name: string
  /** Path in the repo → its bytes. */
  files: Record<string, Buffer>
  /** Bytes of all its files. */
  bytes: number
}

/**
 * A model of about `MiB * mib` bytes: two LFS shards of random bytes (served through the CDN),
 * a nested tokenizer, a config and a card (served by the Hub itself), every file unlike any other
 * model's, so no model can borrow another's layer.
 */
export function hubModel(name: string, mib = 3): HubModel {
  const shard = Math.round((mib * MiB) / 2)
  const files: Record<string, Buffer> = {
    'model-00001-of-00002.safetensors': randomBytes(shard),
    'model-00002-of-00002.safetensors': randomBytes(shard - 4096),
    'tokenizer/tokenizer.json': Buffer.from(JSON.stringify({ model: name, vocab: Array.from({ length: 500 }, (_, i) => `${name}-${i}`) })),
    'config.json': Buffer.from(`{"model_type":"llama","name":"${name}"}\n`),
    'README.md': Buffer.from(`---\nlicense: apache-2.0\n---\n# ${name}\n`),
  }
  const bytes = Object.values(files).reduce((n, b) => n + b.length, 0)
  return { repo: `acme/${name}`, name, files, bytes }
}

/** The CLI's environment: the Hub emulator as HF_ENDPOINT, and no token or registry login of the machine's own. */
export function catalogEnv(home: string, hubUrl: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = cliEnv({ HF_HOME: join(home, 'hf'), REGISTRY_AUTH_FILE: join(home, 'no-auth.json'), HF_ENDPOINT: hubUrl, ...extra })
  for (const name of ['HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN', 'AWS_PROFILE', 'JOB_COMPLETION_INDEX']) if (!(name in extra)) delete env[name]
  return env
}

/** Writes `text` as `dir/name` and returns its path. */
export async function writeCatalog(dir: string, name: string, text: string): Promise<string> {
  await mkdir(dir, { recursive: true })
  const file = join(dir, name)
  await writeFile(file, text)
  return file
}

// ---------------------------------------------------------------------------------------------
// What the Hub emulator served

/**
 * File body bytes the emulator served from request `from` on, by Hub repo: a resolve route names
 * its repo (`/{ns}/{name}/resolve/…`), and so does a CDN object (`/repos/models/{ns}/{name}/{sha256}`).
 * Listing routes send no file bytes and are not counted.
 */
export function servedByRepo(hub: HubEmulator, from: number): Record<string, number> {
  const out: Record<string, number> = {}
  for (const r of hub.requests.slice(from)) {
    if (r.bytes === 0) continue
    const segs = new URL(r.path, hub.url).pathname.split('/').slice(1).map(decodeURIComponent)
    const repo = r.host === 'cdn' ? segs.slice(2, 4).join('/') : segs[2] === 'resolve' ? segs.slice(0, 2).join('/') : `?${r.path}`
    out[repo] = (out[repo] ?? 0) + r.bytes
  }
  return out
}

/** Requests of any kind (listings too) the emulator had for `repo` from request `from` on. */
export function requestsFor(hub: HubEmulator, from: number, repo: string): string[] {
  return hub.requests
    .slice(from)
    .map((r) => `${r.host} ${r.path}`)
    .filter((p) => p.includes(`/${repo}/`))
}

// ---------------------------------------------------------------------------------------------
// What the registry holds and logged

/** The repositories the registry holds (its catalogue API). */
export async function registryRepositories(registry: Registry): Promise<string[]> {
  const res = await fetch(`${registry.url}/v2/_catalog?n=1000`)
  expect(res.status).toBe(200)
  return ((await res.json()) as { repositories: string[] }).repositories.sort()
}

/** The tags of `repo`; [] when the registry does not know it. */
export async function registryTags(registry: Registry, repo: string): Promise<string[]> {
  const res = await fetch(`${registry.url}/v2/${repo}/tags/list`)
  if (res.status === 404) return []
  expect(res.status).toBe(200)
  return (((await res.json()) as { tags: string[] | null }).tags ?? []).sort()
}

/**
 * How many times each blob upload into `repo` was finished (the PUT that closes an upload, or a
 * monolithic POST, names the digest with status 201), as the registry logged it from offset `from`.
 */
export function blobUploads(registry: Registry, from: number, repo: string): Record<string, number> {
  const out: Record<string, number> = {}
  const put = new RegExp(`"(?:PUT|POST) /v2/${repo}/blobs/uploads/[^" ]*[?&]digest=(sha256(?::|%3A)[0-9a-f]{64})[^"]*" 201 `, 'g')
  for (const m of registry.logs().slice(from).matchAll(put)) {
    const digest = m[1]!.replace('%3A', ':')
    out[digest] = (out[digest] ?? 0) + 1
  }
  return out
}

/** Manifest PUTs into `repo` the registry logged from offset `from` (tags written). */
export function manifestPuts(registry: Registry, from: number, repo: string): number {
  return [
    ...registry
      .logs()
      .slice(from)
      .matchAll(new RegExp(`"PUT /v2/${repo}/manifests/[^" ]+ HTTP/[0-9.]+" 201 `, 'g')),
  ].length
}

export interface PulledImage {
  /** The digest the tag points at. */
  digest: string
  manifest: RawManifest
}

const ACCEPT = [MT.ociManifest, MT.ociIndex].join(', ')

/** The manifest `repo:tag` names (the first of an index's manifests). */
export async function pullManifest(registry: Registry, repo: string, tag: string): Promise<PulledImage> {
  const get = async (ref: string) => {
    const res = await fetch(`${registry.url}/v2/${repo}/manifests/${ref}`, { headers: { Accept: ACCEPT } })
    expect(res.status, `GET manifest ${repo}:${ref}`).toBe(200)
    return { digest: res.headers.get('docker-content-digest')!, doc: (await res.json()) as RawManifest }
  }
  const top = await get(tag)
  const manifest = top.doc.manifests ? (await get(top.doc.manifests[0]!.digest)).doc : top.doc
  return { digest: top.digest, manifest }
}

/**
 * Pulls every layer of `repo:tag` back (each checked against its digest and size), unpacks them
 * in order with GNU tar into `dir`, and checks that `/models` holds exactly the model's files,
 * byte for byte.
 */
export async function expectPulledModel(registry: Registry, repo: string, tag: string, model: HubModel, dir: string): Promise<PulledImage> {
  const image = await pullManifest(registry, repo, tag)
  const root = join(dir, 'rootfs')
  await mkdir(root, { recursive: true })
  for (const layer of image.manifest.layers ?? []) {
    const res = await fetch(`${registry.url}/v2/${repo}/blobs/${layer.digest}`)
    expect(res.status, `GET blob ${layer.digest} of ${repo}`).toBe(200)
    const blob = Buffer.from(await res.arrayBuffer())
    expect({ digest: sha256(blob), size: blob.length }, `layer ${layer.annotations?.[TITLE]} of ${repo}:${tag}`).toEqual({
      digest: layer.digest,
      size: layer.size,
    })
    const file = join(dir, `${layer.digest.slice(7)}.tar`)
    await writeFile(file, blob)
    await mustRun('tar', ['-xf', file, '-C', root])
  }
  const found = await filesUnder(join(root, 'models'))
  expect(Object.keys(found).sort(), `files of ${repo}:${tag}`).toEqual(Object.keys(model.files).sort())
  for (const [path, bytes] of Object.entries(model.files))
    expect(found[path], `sha256 of /models/${path} in ${repo}:${tag}`).toBe(sha256(bytes))
  return image
}

/** sha256 of every file under `dir`, by path relative to it. */
async function filesUnder(dir: string, rel = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const entry of await readdir(join(dir, rel), { withFileTypes: true })) {
    const path = rel ? `${rel}/${entry.name}` : entry.name
    if (entry.isDirectory()) Object.assign(out, await filesUnder(dir, path))
    else out[path] = sha256(await readFile(join(dir, path)))
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// What `modelcar mirror` said

export interface SummaryRow {
  model: string
  state: 'ok' | 'FAILED'
  /** The last column: the image digest, or why the model failed. */
  rest: string
}

export interface Summary {
  rows: SummaryRow[]
  /** The closing line: `N of M models mirrored (shard I/N); failed: …`. */
  total: string
}

/** The summary table on the stdout of `modelcar mirror` (without --json). */
export function summaryOf(result: RunResult): Summary {
  const lines = result.stdout.trimEnd().split('\n')
  const header = lines.findIndex((l) => /^model\s+state\s+layers\s+bytes\s+time\s+digest or reason$/.test(l))
  expect(header, `a summary table in:\n${result.stdout}\n--- stderr ---\n${result.stderr}`).toBeGreaterThanOrEqual(0)
  const rows = lines.slice(header + 1, -1).map((l) => {
    const m = /^(\S+)\s+(ok|FAILED)\s+.*?\d+\.\d s {2}(.*)$/.exec(l)
    expect(m, `a summary row: ${l}`).not.toBeNull()
    return { model: m![1]!, state: m![2] as SummaryRow['state'], rest: m![3]! }
  })
  return { rows, total: lines.at(-1)! }
}

export interface MirrorEvent {
  type: string
  model?: string
  ok?: boolean
  digest?: string
  reused?: number
  bytes?: number
  error?: string
  models?: number
  failed?: string[]
  shard?: string
  layer?: number
  skipped?: boolean
}

/** The events of `modelcar mirror --json`. */
export function eventsOf(result: RunResult): MirrorEvent[] {
  return result.stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as MirrorEvent)
}

/** Line and column (1-based) of the first `needle` in `text`: where a problem must be reported. */
export function positionOf(text: string, needle: string): { line: number; col: number } {
  const at = text.indexOf(needle)
  expect(at, `\`${needle}\` in the catalogue`).toBeGreaterThanOrEqual(0)
  const before = text.slice(0, at).split('\n')
  return { line: before.length, col: before.at(-1)!.length + 1 }
}
