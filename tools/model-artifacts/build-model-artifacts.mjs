#!/usr/bin/env node
// Builds model artifacts in OCI image layouts, written here from the specifications (nothing of the
// tools that usually write them): CNCF ModelPack (modelpack/model-spec `docs/spec.md`,
// `docs/config.md`, `docs/annotations.md`) with raw or tar layers (tar, tar+gzip, tar+zstd) in the
// current `cncf` and the older `cnai` spelling; a Docker model artifact (Docker Model Runner's
// `application/vnd.docker.ai.*`, with annotated files or the older unannotated shards); a KitOps
// ModelKit (`application/vnd.kitops.modelkit.*`, its model folder tarred by GNU tar). Each comes
// with the files a reader must find in it. gzip, zstd and GNU tar are the real programs.
//
//   node tools/model-artifacts/build-model-artifacts.mjs OUT_DIR     builds one of each, prints their refs

import { execFile, execFileSync } from 'node:child_process'
import { createCipheriv, createHash } from 'node:crypto'
import { realpathSync } from 'node:fs'
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import tar from 'tar-stream'

const execFileAsync = promisify(execFile)

const MT = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerConfigV01: 'application/vnd.docker.ai.model.config.v0.1+json',
  dockerConfigV02: 'application/vnd.docker.ai.model.config.v0.2+json',
  kitConfig: 'application/vnd.kitops.modelkit.config.v1+json',
}
const REF_NAME = 'org.opencontainers.image.ref.name'
/** 2025-01-01T00:00:00Z: every file's time, so the same inputs give the same artifact. */
const MTIME = 1735689600
const CREATED = '2025-01-01T00:00:00Z'

// ---------------------------------------------------------------------------------------------
// Model files

/** Bytes that look random and are the same for the same seed (AES-CTR over zeros). */
export function seededBytes(seed, size) {
  const key = createHash('sha256').update(`model-artifacts:${seed}`).digest()
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16))
  return Buffer.concat([cipher.update(Buffer.alloc(size)), cipher.final()])
}

/** A path beyond ustar's 100-byte name field, whose file name alone is beyond it too. */
export const LONG_PATH = `checkpoints/epoch-0001/shard-${'0123456789abcdef'.repeat(7)}.safetensors`
export const NON_ASCII_NAME = 'données-模型-Ä.json'

/**
 * The files of a small model with what breaks naive readers: nested folders, an executable script,
 * a non-ASCII name, a path beyond ustar's limits, an empty file. `weightBytes` sizes the weights.
 */
export function modelFiles({ weightBytes = 256 << 10, seed = 'model' } = {}) {
  const text = (s) => Buffer.from(s, 'utf8')
  return [
    { path: 'model.safetensors', bytes: seededBytes(`${seed}/weights`, weightBytes), mode: 0o644 },
    { path: 'config.json', bytes: text('{"architectures":["LlamaForCausalLM"],"hidden_size":8,"torch_dtype":"bfloat16"}\n'), mode: 0o644 },
    { path: 'tokenizer/tokenizer.json', bytes: text('{"version":"1.0","model":{"vocab":{"<s>":0,"wörld":1}}}\n'), mode: 0o644 },
    { path: 'tokenizer/special_tokens_map.json', bytes: text('{"bos_token":"<s>"}\n'), mode: 0o644 },
    { path: 'tokenizer/empty.txt', bytes: Buffer.alloc(0), mode: 0o644 },
    { path: NON_ASCII_NAME, bytes: text('{"label":"ünïcödé ✓"}\n'), mode: 0o644 },
    { path: LONG_PATH, bytes: seededBytes(`${seed}/long`, 5000), mode: 0o644 },
    { path: 'scripts/serve.py', bytes: text('#!/usr/bin/env python3\nprint("serving")\n'), mode: 0o755 },
    { path: 'README.md', bytes: text('---\nlicense: apache-2.0\n---\n# Tiny model\n\nA model card, with ünïcödé.\n'), mode: 0o644 },
  ]
}

/** The spec's layer kinds, by what a file is. */
function kindOf(path) {
  if (/\.(safetensors|gguf|bin|pt|pth|onnx)$/.test(path)) return 'weight'
  if (/(^|\/)(README|LICENSE|NOTICE)[^/]*$/i.test(path) || /\.md$/.test(path)) return 'doc'
  if (/\.(py|sh)$/.test(path)) return 'code'
  if (/\.(json|txt|model|jinja)$/.test(path)) return 'weight.config'
  return 'dataset'
}

// ---------------------------------------------------------------------------------------------
// CNCF ModelPack

/**
 * A ModelPack artifact of `files`. `layers: 'raw'` puts each file as it is (only in the `cncf`
 * spelling: `cnai` had no raw types); `'tar'` puts each file in a tar of its own, except the
 * `tokenizer/` folder, which is one tar (annotated with the folder's path), compressed by
 * `compression`. `oldestTypes` spells the weights `application/vnd.cnai.model.layer.v1.tar`, as
 * the first drafts did.
 */
export async function buildModelPack(
  dir,
  files,
  { spelling = 'cncf', layers = 'tar', compression = 'none', oldestTypes = false, tag = 'latest' } = {},
) {
  if (spelling === 'cnai' && layers === 'raw') throw new Error('buildModelPack: the cnai spelling had no raw layers')
  const layout = await openLayout(dir)
  const groups = layers === 'raw' ? files.map((f) => ({ path: f.path, files: [f] })) : groupFolder(files, 'tokenizer')
  const descriptors = []
  const diffIds = []
  for (const group of groups) {
    const kind = kindOf(group.files[0].path)
    const single = group.files.length === 1 && group.files[0].path === group.path
    const annotations = {
      [`org.${spelling}.model.filepath`]: group.path,
      [`org.${spelling}.model.file.metadata+json`]: fileMetadata(group, single),
      [`org.${spelling}.model.file.mediatype.untested`]: 'false',
    }
    if (layers === 'raw') {
      const blob = await layout.putBlob(group.files[0].bytes)
      diffIds.push(blob.digest)
      descriptors.push({ mediaType: `application/vnd.${spelling}.model.${kind}.v1.raw`, ...blob, annotations })
      continue
    }
    const tarBytes = await tarOf(group.files, single ? undefined : group.path)
    diffIds.push(digestOf(tarBytes))
    const blob = await layout.putBlob(compress(tarBytes, compression))
    const suffix = compression === 'none' ? 'tar' : `tar+${compression}`
    const type = oldestTypes && kind === 'weight' ? 'layer' : kind
    descriptors.push({ mediaType: `application/vnd.${spelling}.model.${type}.v1.${suffix}`, ...blob, annotations })
  }
  const config = await layout.putJson({
    descriptor: {
      createdAt: CREATED,
      name: 'tiny',
      version: '1.0',
      sourceURL: 'https://example.com/tiny',
      revision: 'abc123',
      licenses: ['Apache-2.0'],
    },
    config: { architecture: 'transformer', format: 'safetensors', paramSize: '8k', precision: 'bfloat16' },
    modelfs: { type: 'layers', diffIds },
  })
  const manifest = await layout.putJson({
    schemaVersion: 2,
    mediaType: MT.ociManifest,
    artifactType: `application/vnd.${spelling}.model.manifest.v1+json`,
    config: { mediaType: `application/vnd.${spelling}.model.config.v1+json`, ...config },
    layers: descriptors,
  })
  await layout.tag(manifest, tag)
  return built(dir, tag, manifest, files)
}

/** The files one by one, except those under `folder`, which make one group (a folder layer). */
function groupFolder(files, folder) {
  const inFolder = files.filter((f) => f.path.startsWith(`${folder}/`))
  const others = files.filter((f) => !f.path.startsWith(`${folder}/`)).map((f) => ({ path: f.path, files: [f] }))
  return inFolder.length ? [...others, { path: folder, files: inFolder }] : others
}

/** The spec's File Metadata annotation value (its Go struct as JSON). */
function fileMetadata(group, single) {
  const f = group.files[0]
  return JSON.stringify({
    name: group.path.split('/').pop(),
    mode: single ? f.mode : 0o755,
    uid: 0,
    gid: 0,
    size: single ? f.bytes.length : 0,
    mtime: CREATED,
    typeflag: single ? 48 : 53,
  })
}

/** A tar of `files`, entries named by their path in the model (a `folder`'s own entry first), PAX where ustar cannot hold a name. */
async function tarOf(files, folder) {
  const pack = tar.pack()
  const base = { mtime: new Date(MTIME * 1000), uid: 0, gid: 0, uname: '', gname: '' }
  if (folder) pack.entry({ ...base, name: `${folder}/`, type: 'directory', mode: 0o755 })
  for (const f of files) pack.entry({ ...base, name: f.path, type: 'file', mode: f.mode, size: f.bytes.length }, f.bytes)
  pack.finalize()
  const chunks = []
  for await (const chunk of pack) chunks.push(chunk)
  return Buffer.concat(chunks)
}

function compress(bytes, compression) {
  if (compression === 'none') return bytes
  if (compression === 'gzip') return execFileSync('gzip', ['-n', '-9', '-c'], { input: bytes, maxBuffer: 1 << 30 })
  if (compression === 'zstd') return execFileSync('zstd', ['-q', '-c', '-19'], { input: bytes, maxBuffer: 1 << 30 })
  throw new Error(`compress: no ${compression}`)
}

// ---------------------------------------------------------------------------------------------
// Docker model artifacts

/**
 * A Docker model artifact. `annotated` (config v0.2): safetensors shards, a chat template and a
 * `vllm.config.tar` of config files, each file layer annotated with `org.cncf.model.filepath`.
 * Not annotated (config v0.1, as the first `docker model package` wrote): two GGUF shards and a
 * license, which a reader names as Docker Model Runner unpacks them.
 */
export async function buildDockerModel(dir, { annotated = true, weightBytes = 192 << 10, tag = 'latest' } = {}) {
  const layout = await openLayout(dir)
  const files = annotated ? dockerV02Files(weightBytes) : dockerV01Files(weightBytes)
  const layers = []
  const diffIds = []
  for (const f of files.filter((f) => !f.inTar)) {
    const blob = await layout.putBlob(f.bytes)
    diffIds.push(blob.digest)
    layers.push({ mediaType: f.mediaType, ...blob, ...(annotated ? { annotations: { 'org.cncf.model.filepath': f.path } } : {}) })
  }
  const inTar = files.filter((f) => f.inTar)
  if (inTar.length) {
    const tarBytes = await tarOf(inTar)
    const blob = await layout.putBlob(tarBytes)
    diffIds.push(blob.digest)
    layers.push({ mediaType: 'application/vnd.docker.ai.vllm.config.tar', ...blob })
  }
  const config = await layout.putJson({
    config: annotated
      ? { format: 'safetensors', architecture: 'llama', parameters: '8k', size: '400KB' }
      : { format: 'gguf', quantization: 'Q4_K_M', architecture: 'llama', parameters: '8k', size: '400KB' },
    descriptor: { created: CREATED },
    rootfs: { type: 'rootfs', diff_ids: diffIds },
  })
  const manifest = await layout.putJson({
    schemaVersion: 2,
    mediaType: MT.ociManifest,
    config: { mediaType: annotated ? MT.dockerConfigV02 : MT.dockerConfigV01, ...config },
    layers,
  })
  await layout.tag(manifest, tag)
  return built(
    dir,
    tag,
    manifest,
    files.map(({ path, bytes, mode }) => ({ path, bytes, mode })),
  )
}

function dockerV02Files(weightBytes) {
  const st = (i) => ({
    path: `model-0000${i}-of-00002.safetensors`,
    bytes: seededBytes(`docker/st${i}`, weightBytes),
    mode: 0o644,
    mediaType: 'application/vnd.docker.ai.safetensors',
  })
  return [
    st(1),
    st(2),
    {
      path: 'template.jinja',
      bytes: Buffer.from('{{ messages }}\n'),
      mode: 0o644,
      mediaType: 'application/vnd.docker.ai.chat.template.jinja',
    },
    { path: 'config.json', bytes: Buffer.from('{"model_type":"llama"}\n'), mode: 0o644, inTar: true },
    { path: 'tokenizer_config.json', bytes: Buffer.from('{"bos_token":"<s>"}\n'), mode: 0o644, inTar: true },
  ]
}

function dockerV01Files(weightBytes) {
  const gguf = (i) => ({
    path: `model-0000${i}-of-00002.gguf`,
    bytes: Buffer.concat([Buffer.from('GGUF'), seededBytes(`docker/gguf${i}`, weightBytes)]),
    mode: 0o644,
    mediaType: 'application/vnd.docker.ai.gguf.v3',
  })
  return [
    gguf(1),
    gguf(2),
    { path: 'LICENSE', bytes: Buffer.from('Apache License 2.0\n'), mode: 0o644, mediaType: 'application/vnd.docker.ai.license' },
  ]
}

// ---------------------------------------------------------------------------------------------
// KitOps ModelKits

/**
 * A KitOps ModelKit: the model folder as one uncompressed tar written by GNU tar in its own
 * format (a long name takes a `././@LongLink` member; a symbolic link stays one), the code folder
 * as tar+gzip, the docs as tar; the Kitfile as config. No artifactType, as older kits have none.
 */
export async function buildModelKit(dir, { weightBytes = 192 << 10, tag = 'latest' } = {}) {
  const layout = await openLayout(dir)
  const work = await mkdtemp(join(dirname(resolve(dir)), '.kit-'))
  try {
    const files = kitFiles(weightBytes)
    for (const f of files) {
      await mkdir(join(work, dirname(f.path)), { recursive: true })
      await writeFile(join(work, f.path), f.bytes)
      await chmod(join(work, f.path), f.mode)
    }
    // A Hub-cache-like link: read as a file with its target's bytes.
    await symlink('weights.safetensors', join(work, 'model', 'current.safetensors'))
    const gnuTar = (...paths) =>
      execFileSync(
        'tar',
        ['--format=gnu', '--sort=name', '--owner=0', '--group=0', '--numeric-owner', `--mtime=@${MTIME}`, '-C', work, '-cf', '-', ...paths],
        {
          maxBuffer: 1 << 30,
        },
      )
    const layers = []
    for (const [kind, compression, path] of [
      ['model', 'none', 'model'],
      ['code', 'gzip', 'src'],
      ['docs', 'none', 'README.md'],
    ]) {
      const blob = await layout.putBlob(compress(gnuTar(path), compression))
      layers.push({
        mediaType: `application/vnd.kitops.modelkit.${kind}.v1.tar${compression === 'none' ? '' : `+${compression}`}`,
        ...blob,
      })
    }
    const config = await layout.putJson({
      manifestVersion: '1.0.0',
      package: { name: 'tiny', version: '1.0.0', license: 'Apache-2.0' },
      model: { name: 'tiny', path: 'model', framework: 'safetensors' },
      code: [{ path: 'src' }],
      docs: [{ path: 'README.md' }],
    })
    const manifest = await layout.putJson({
      schemaVersion: 2,
      mediaType: MT.ociManifest,
      config: { mediaType: MT.kitConfig, ...config },
      layers,
    })
    await layout.tag(manifest, tag)
    const weights = files.find((f) => f.path === 'model/weights.safetensors')
    return built(dir, tag, manifest, [...files, { path: 'model/current.safetensors', bytes: weights.bytes, mode: 0o644 }])
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

function kitFiles(weightBytes) {
  return [
    { path: 'model/weights.safetensors', bytes: seededBytes('kit/weights', weightBytes), mode: 0o644 },
    { path: 'model/config.json', bytes: Buffer.from('{"hidden_size":8}\n'), mode: 0o644 },
    { path: `model/${LONG_PATH}`, bytes: seededBytes('kit/long', 3000), mode: 0o644 },
    { path: 'src/train.sh', bytes: Buffer.from('#!/bin/sh\necho training\n'), mode: 0o755 },
    { path: 'src/lib/util.py', bytes: Buffer.from('X = 1\n'), mode: 0o644 },
    { path: 'README.md', bytes: Buffer.from('# Tiny kit\n'), mode: 0o644 },
  ]
}

// ---------------------------------------------------------------------------------------------
// Registries

/**
 * Pushes `PATH:TAG` to `HOST:PORT/REPO:TAG` with skopeo, digests kept (a loopback registry, no
 * credentials). Asynchronous on purpose: the registry under test logs to a pipe the test process
 * drains, and a synchronous push blocked that process, so the registry blocked on its full log
 * pipe and skopeo waited on the registry for ever (a CI run hung there).
 */
export async function pushLayout(layoutRef, dest) {
  const args = [
    '--insecure-policy',
    'copy',
    '--preserve-digests',
    '--dest-tls-verify=false',
    '--dest-no-creds',
    `oci:${layoutRef}`,
    `docker://${dest}`,
  ]
  try {
    await execFileAsync('skopeo', args, { timeout: 120_000, killSignal: 'SIGKILL', maxBuffer: 16 << 20 })
  } catch (err) {
    throw new Error(`skopeo ${args.join(' ')}: ${err.killed ? 'killed after 120 s' : `exited ${err.code}`}\n${err.stderr ?? ''}`, {
      cause: err,
    })
  }
}

// ---------------------------------------------------------------------------------------------
// Image layout writing

/** A fresh OCI image layout in `dir`: content-addressed blobs, index.json written by `tag`. */
async function openLayout(dir) {
  const blobs = join(dir, 'blobs', 'sha256')
  await mkdir(blobs, { recursive: true })
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }))
  const putBlob = async (bytes) => {
    const digest = digestOf(bytes)
    await writeFile(join(blobs, digest.slice(7)), bytes)
    return { digest, size: bytes.length }
  }
  return {
    putBlob,
    putJson: (value) => putBlob(Buffer.from(JSON.stringify(value))),
    tag: (manifest, tag) =>
      writeFile(
        join(dir, 'index.json'),
        JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: MT.ociManifest, ...manifest, annotations: { [REF_NAME]: tag } }] }),
      ),
  }
}

async function built(dir, tag, manifest, files) {
  const layout = resolve(dir)
  const doc = JSON.parse(await readFile(join(layout, 'blobs', 'sha256', manifest.digest.slice(7)), 'utf8'))
  return { layout, tag, ref: `oci-layout:${layout}:${tag}`, manifestDigest: manifest.digest, manifest: doc, files }
}

function digestOf(bytes) {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`
}

if (process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))) {
  const out = resolve(process.argv[2] ?? 'model-artifacts')
  const files = modelFiles()
  const all = {
    'modelpack-raw': () => buildModelPack(join(out, 'modelpack-raw'), files, { layers: 'raw' }),
    'modelpack-tar': () => buildModelPack(join(out, 'modelpack-tar'), files),
    'modelpack-tar-gzip': () => buildModelPack(join(out, 'modelpack-tar-gzip'), files, { compression: 'gzip' }),
    'modelpack-tar-zstd': () => buildModelPack(join(out, 'modelpack-tar-zstd'), files, { compression: 'zstd' }),
    'modelpack-cnai': () => buildModelPack(join(out, 'modelpack-cnai'), files, { spelling: 'cnai' }),
    'docker-model': () => buildDockerModel(join(out, 'docker-model')),
    'docker-model-v0.1': () => buildDockerModel(join(out, 'docker-model-v0.1'), { annotated: false }),
    modelkit: () => buildModelKit(join(out, 'modelkit')),
  }
  ;(async () => {
    for (const [name, build] of Object.entries(all)) console.log(`${name}\t${(await build()).ref}`)
  })().catch((err) => {
    console.error(err.message)
    process.exitCode = 1
  })
}
