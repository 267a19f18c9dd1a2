// Shared by the end-to-end tests: the real CLI as a child process, a small model folder with the
// awkward cases (nested, executable, non-ASCII, long path), and readers of image layouts that
// check every blob they reach. Expected values are always computed here from the inputs.
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { tmpdir } from 'node:os'
import { fileURLToPath } from 'node:url'
import { expect } from 'vitest'
import {
  CommandFailedError,
  describeCommand,
  run,
  type Descriptor,
  type Platform,
  type RawManifest,
  type RunOptions,
  type RunResult,
} from '../../tools/harness/tools.js'

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const CLI_BIN = join(REPO_ROOT, 'packages', 'cli', 'bin', 'modelcar.js')

export const MT = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  inToto: 'application/vnd.in-toto+json',
} as const

export const REF_NAME = 'org.opencontainers.image.ref.name'
export const TITLE = 'org.opencontainers.image.title'
export const ODH_LAYER_TYPE = 'io.opendatahub.modelcar.layer.type'
export const ODH_MODELCARD = 'io.opendatahub.layers.modelcard'

// ---------------------------------------------------------------------------------------------
// The CLI

/** The CLI runs its compiled dist/: fail early, and say how to build it, when it is not there. */
export async function assertCliBuilt(): Promise<void> {
  for (const pkg of ['cli', 'core']) {
    const main = join(REPO_ROOT, 'packages', pkg, 'dist', pkg === 'cli' ? 'main.js' : 'index.js')
    if (!(await stat(main).catch(() => undefined))) {
      throw new Error(`${main} is missing: build first with \`npx tsc -b packages/cli\` (the root \`npm test\` does)`)
    }
  }
}

/** The environment of the test runner, minus what would change the images behind a test's back. */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  // The record of layers is the test file's own (one worker process each), not the machine user's:
  // no test reuses what another one wrote.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NO_COLOR: '1',
    MODELCAR_CACHE_DIR: join(tmpdir(), `modelcar-e2e-cache-${process.pid}`),
    ...extra,
  }
  if (!('SOURCE_DATE_EPOCH' in extra)) delete env.SOURCE_DATE_EPOCH
  delete env.MODELCAR_DEBUG
  // nx sets FORCE_COLOR for its tasks; beside NO_COLOR, Node warns on stderr that one is ignored.
  delete env.FORCE_COLOR
  return env
}

/** Runs `modelcar ARGS` (the real bin, in a child process); never rejects on a non-zero exit. */
export function modelcar(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return run(process.execPath, [CLI_BIN, ...args], { ...opts, env: opts.env ?? cliEnv() })
}

/** What Node prints for process warnings (MaxListenersExceededWarning, DeprecationWarning, …). */
export const NODE_WARNING = /\(node:\d+\) (\[\w+\] )?\w*Warning/

/**
 * Like modelcar(), but anything but exit 0 rejects with the command's stdout and stderr; so does a
 * Node warning on stderr (a listener leak shows up there first, on large files).
 */
export async function mustModelcar(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const result = await modelcar(args, opts)
  if (result.code !== 0) throw new CommandFailedError(describeCommand('modelcar', args), result)
  expect(result.stderr, `stderr of ${describeCommand('modelcar', args)}`).not.toMatch(NODE_WARNING)
  return result
}

/** The digest `modelcar run`/`add` prints as its last line of stdout. */
export function printedDigest(result: RunResult): string {
  const last = result.stdout.trim().split('\n').at(-1) ?? ''
  expect(last, `stdout of modelcar:\n${result.stdout}`).toMatch(/^sha256:[a-f0-9]{64}$/)
  return last
}

// ---------------------------------------------------------------------------------------------
// A model folder

export interface ModelFile {
  /** POSIX path relative to the model root, which is also its path under /models. */
  path: string
  digest: string
  size: number
  /** The mode the file must have in the image. */
  mode: number
}

export interface Model {
  root: string
  files: ModelFile[]
  /** Arguments of `modelcar add` (relative to root): the top-level entries, folders included. */
  addArgs: string[]
  /** Folders the image must hold under /models, parents first. */
  dirs: string[]
}

export const NON_ASCII_NAME = 'données-模型-Ä.json'
/** A folder and a file name whose path is far beyond ustar's 100-byte name field. */
export const LONG_PATH = `checkpoints/epoch-0001/shard-${'0123456789abcdef'.repeat(7)}.safetensors`

/**
 * Writes a model with the cases that break naive tar writers: a random binary (mode 0600 on disk,
 * 0644 in the image), a nested file, an executable script, a non-ASCII name, a path longer than
 * 100 bytes with a file name alone longer than 100, and the model card.
 */
export async function writeModel(root: string, opts: { weightsBytes?: number } = {}): Promise<Model> {
  const specs: { path: string; bytes: Buffer; diskMode: number; mode: number }[] = [
    { path: 'weights.bin', bytes: randomBytes(opts.weightsBytes ?? 384 * 1024), diskMode: 0o600, mode: 0o644 },
    {
      path: 'tokenizer/vocab.json',
      bytes: Buffer.from(JSON.stringify({ '<s>': 0, '</s>': 1, hello: 2, wörld: 3 })),
      diskMode: 0o644,
      mode: 0o644,
    },
    { path: 'run.sh', bytes: Buffer.from('#!/bin/sh\necho "serving $1"\n'), diskMode: 0o755, mode: 0o755 },
    { path: NON_ASCII_NAME, bytes: Buffer.from('{"label":"ünïcödé ✓"}\n'), diskMode: 0o644, mode: 0o644 },
    { path: LONG_PATH, bytes: randomBytes(4096), diskMode: 0o644, mode: 0o644 },
    { path: 'README.md', bytes: Buffer.from('# Test model\n\nA model card, with ünïcödé.\n'), diskMode: 0o644, mode: 0o644 },
  ]
  expect(Buffer.byteLength(LONG_PATH)).toBeGreaterThan(100)
  expect(Buffer.byteLength(LONG_PATH.split('/').at(-1)!)).toBeGreaterThan(100)
  for (const s of specs) {
    const abs = join(root, s.path)
    await mkdir(dirname(abs), { recursive: true })
    await writeFile(abs, s.bytes)
    await chmod(abs, s.diskMode)
  }
  const files = specs.map((s) => ({ path: s.path, digest: sha256(s.bytes), size: s.bytes.length, mode: s.mode }))
  const addArgs = [...new Set(files.map((f) => f.path.split('/')[0]!))]
  const dirs = [
    ...new Set(
      files.flatMap((f) =>
        f.path
          .split('/')
          .slice(0, -1)
          .map((_, i, parts) => parts.slice(0, i + 1).join('/')),
      ),
    ),
  ].sort()
  return { root, files, addArgs, dirs }
}

// ---------------------------------------------------------------------------------------------
// Image layouts

export const sha256 = (bytes: Uint8Array | string): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`

export const blobPath = (layout: string, digest: string): string => join(layout, 'blobs', 'sha256', digest.replace(/^sha256:/, ''))
export const readBlob = (layout: string, digest: string): Promise<Buffer> => readFile(blobPath(layout, digest))
export const readJsonBlob = async <T = RawManifest>(layout: string, digest: string): Promise<T> =>
  JSON.parse((await readBlob(layout, digest)).toString('utf8')) as T
export const readIndex = async (layout: string): Promise<RawManifest> =>
  JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as RawManifest

export function tagged(index: RawManifest, tag = 'latest'): Descriptor {
  const hits = (index.manifests ?? []).filter((d) => d.annotations?.[REF_NAME] === tag)
  expect(hits, `index.json entries tagged ${tag}`).toHaveLength(1)
  return hits[0]!
}

/** Files in blobs/sha256 (what a re-run must not grow). */
export async function countBlobs(layout: string): Promise<number> {
  return (await readdir(join(layout, 'blobs', 'sha256'))).length
}

const isIndex = (d: Descriptor) => /image\.index|manifest\.list/.test(d.mediaType)
const isManifest = (d: Descriptor) => /image\.manifest|distribution\.manifest\.v2/.test(d.mediaType)

/**
 * Every descriptor reachable from index.json (the entry itself, children, configs, layers), each
 * checked against its blob's size and sha256. Returns them, and the parsed documents by digest.
 */
export async function walkLayout(layout: string): Promise<{ descriptors: Descriptor[]; documents: Map<string, RawManifest> }> {
  const descriptors: Descriptor[] = []
  const documents = new Map<string, RawManifest>()
  const checked = new Set<string>()
  const visit = async (d: Descriptor): Promise<void> => {
    descriptors.push(d)
    if (checked.has(d.digest)) return
    checked.add(d.digest)
    const bytes = await readBlob(layout, d.digest).catch(() => undefined)
    expect(bytes, `blob ${d.digest} (${d.mediaType}) that ${layout} refers to`).toBeDefined()
    expect({ digest: sha256(bytes!), size: bytes!.length }, `blob of ${d.mediaType}`).toEqual({ digest: d.digest, size: d.size })
    if (!isIndex(d) && !isManifest(d)) return
    const doc = JSON.parse(bytes!.toString('utf8')) as RawManifest
    documents.set(d.digest, doc)
    for (const child of [...(doc.manifests ?? []), ...(doc.config ? [doc.config] : []), ...(doc.layers ?? [])]) await visit(child)
  }
  for (const entry of (await readIndex(layout)).manifests ?? []) await visit(entry)
  return { descriptors, documents }
}

export interface ImageConfig {
  created?: string
  architecture?: string
  os?: string
  variant?: string
  config?: { Labels?: Record<string, string> } & Record<string, unknown>
  rootfs: { type: string; diff_ids: string[] }
  history?: { created?: string; created_by?: string; comment?: string; empty_layer?: boolean }[]
  [key: string]: unknown
}

/** A runnable platform image: its descriptor as its parent lists it, the manifest and the config. */
export interface PlatformImage {
  descriptor: Descriptor
  platform: string
  manifest: RawManifest
  config: ImageConfig
  configText: string
}

const platformText = (p: Pick<Platform, 'os' | 'architecture' | 'variant'>) => [p.os, p.architecture, p.variant].filter(Boolean).join('/')

/** The runnable images under `root` (through nested indexes), attestations left out, in index order. */
export async function platformImages(layout: string, root: Descriptor): Promise<PlatformImage[]> {
  const out: PlatformImage[] = []
  const visit = async (d: Descriptor): Promise<void> => {
    if (isIndex(d)) {
      for (const child of (await readJsonBlob(layout, d.digest)).manifests ?? []) await visit(child)
      return
    }
    if (!isManifest(d)) return
    const manifest = await readJsonBlob(layout, d.digest)
    if (!manifest.config || !/image\.config|container\.image/.test(manifest.config.mediaType)) return
    if (manifest.layers?.some((l) => l.mediaType === MT.inToto)) return
    const configText = (await readBlob(layout, manifest.config.digest)).toString('utf8')
    const config = JSON.parse(configText) as ImageConfig
    out.push({ descriptor: d, platform: platformText(d.platform ?? (config as unknown as Platform)), manifest, config, configText })
  }
  await visit(root)
  return out
}

/** Every descriptor an index or manifest in `documents` holds, with the document it is in. */
export function allChildDescriptors(documents: Map<string, RawManifest>): { parent: string; child: Descriptor }[] {
  const out: { parent: string; child: Descriptor }[] = []
  for (const [parent, doc] of documents) {
    for (const child of [
      ...(doc.manifests ?? []),
      ...(doc.config ? [doc.config] : []),
      ...(doc.layers ?? []),
      ...(doc.subject ? [doc.subject] : []),
    ]) {
      out.push({ parent, child })
    }
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Checking what tools unpacked

async function listTree(dir: string, rel = ''): Promise<{ files: string[]; dirs: string[]; other: string[] }> {
  const out = { files: [] as string[], dirs: [] as string[], other: [] as string[] }
  for (const entry of await readdir(join(dir, rel), { withFileTypes: true })) {
    const path = rel ? `${rel}/${entry.name}` : entry.name
    if (entry.isDirectory()) {
      out.dirs.push(path)
      const sub = await listTree(dir, path)
      out.files.push(...sub.files)
      out.dirs.push(...sub.dirs)
      out.other.push(...sub.other)
    } else if (entry.isFile()) out.files.push(path)
    else out.other.push(path)
  }
  return out
}

const isRoot = process.getuid?.() === 0

/**
 * The model as a tool unpacked it under ROOT/models: exactly the model's files and folders, each
 * file with its bytes and its mode (0644, 0755 for executables), folders 0755, owned by root.
 */
export async function expectModelTree(rootfs: string, model: Model, prefix = 'models'): Promise<void> {
  const top = join(rootfs, prefix)
  const tree = await listTree(top)
  expect(tree.files.sort(), `files under /${prefix}`).toEqual(model.files.map((f) => f.path).sort())
  expect(tree.dirs.sort(), `folders under /${prefix}`).toEqual(model.dirs)
  expect(tree.other, `links or special files under /${prefix}`).toEqual([])
  for (const dir of ['', ...model.dirs]) {
    const st = await stat(join(top, dir))
    expect(st.mode & 0o7777, `mode of /${prefix}/${dir}`).toBe(0o755)
    if (isRoot) expect([st.uid, st.gid], `owner of /${prefix}/${dir}`).toEqual([0, 0])
  }
  for (const f of model.files) {
    const abs = join(top, f.path)
    const st = await stat(abs)
    expect(st.mode & 0o7777, `mode of /${prefix}/${f.path}`).toBe(f.mode)
    if (isRoot) expect([st.uid, st.gid], `owner of /${prefix}/${f.path}`).toEqual([0, 0])
    expect(st.size, `size of /${prefix}/${f.path}`).toBe(f.size)
    expect(await fileDigest(abs), `sha256 of /${prefix}/${f.path}`).toBe(f.digest)
  }
}

/** sha256 of a file, streamed (layers and unpacked weights can be large). */
export async function fileDigest(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer)
  return `sha256:${hash.digest('hex')}`
}

/** ELF e_machine of a binary: 62 x86-64, 183 aarch64. */
export async function elfMachine(path: string): Promise<number> {
  const head = (await readFile(path)).subarray(0, 20)
  expect(head.readUInt32BE(0), `${path} is an ELF file`).toBe(0x7f454c46)
  return head.readUInt16LE(18)
}

export const ELF_MACHINE: Record<string, number> = { amd64: 62, arm64: 183 }

// ---------------------------------------------------------------------------------------------
// Python's tarfile, a tar reader nobody here wrote

export interface TarMember {
  name: string
  type: 'dir' | 'file' | 'other'
  mode: number
  uid: number
  gid: number
  uname: string
  gname: string
  mtime: number
  size: number
  /** Keys of the PAX extended header, if the entry has one. */
  pax: string[]
}

const PY_LIST_TAR = `
import json, sys, tarfile
out = []
for path in sys.argv[1:]:
    with tarfile.open(path, 'r:*') as t:
        out.append([{'name': m.name, 'type': 'dir' if m.isdir() else 'file' if m.isfile() else 'other', 'mode': m.mode,
                     'uid': m.uid, 'gid': m.gid, 'uname': m.uname, 'gname': m.gname, 'mtime': m.mtime, 'size': m.size,
                     'pax': sorted(m.pax_headers.keys())} for m in t.getmembers()])
print(json.dumps(out))
`

/** The members of each tar (plain or gzip) blob, as Python's tarfile reads them. */
export async function pythonTarMembers(paths: string[]): Promise<TarMember[][]> {
  const { stdout } = await mustRunTool('python3', ['-c', PY_LIST_TAR, ...paths])
  return JSON.parse(stdout) as TarMember[][]
}

async function mustRunTool(cmd: string, args: string[]): Promise<RunResult> {
  const result = await run(cmd, args)
  if (result.code !== 0)
    throw new CommandFailedError(
      describeCommand(
        cmd,
        args.map((a) => (a.length > 80 ? `${a.slice(0, 40)}…` : a)),
      ),
      result,
    )
  return result
}
