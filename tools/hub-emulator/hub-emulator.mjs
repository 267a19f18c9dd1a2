// Hugging Face Hub emulator for tests and benchmarks: the Hub HTTP API as @huggingface/hub 2.x
// uses it (model/dataset info, tree listing with Link pagination, paths-info, resolve/raw with
// Range), LFS files redirected (302) to a second server on another origin that stands for the
// CDN, and the Hub's error codes for private, gated and missing repos, revisions and files.
// See shared/reference/protocols.md §1. Plain Node ESM (node:http, node:crypto, node:fs only) so a
// plain .mjs benchmark can import it too; types are in hub-emulator.d.mts.
//
// Repos live on disk, read live on every request (so a test can move a ref mid-run):
//   <root>/<models|datasets>/<ns>/<name>/repo.json
//       { "private": false, "gated": false | "auto" | "manual",
//         "refs": { "main": "<40-hex>", "v1.0": "<40-hex>", "refs/pr/1": "<40-hex>" },
//         optional: "commits": { "<sha>": { "parents": ["<sha>"], "date": "<ISO>", "title": "…" } },
//                   "pipeline_tag", "library_name", "tags": [], "createdAt" }
//   <root>/<models|datasets>/<ns>/<name>/commits/<sha>/…files of that revision (nested folders)…
//   <root>/<models|datasets>/<ns>/<name>/.hub-emulator-cache.json   (hash cache, outside commits/)
//
// Where the real Hub's behaviour is not documented, the stricter reading is chosen; each such
// choice is marked [guess] below.

import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto'
import { createReadStream, promises as fsp } from 'node:fs'
import { createServer } from 'node:http'
import { join } from 'node:path'

const MiB = 1024 * 1024
const DEFAULT_LFS_THRESHOLD = 10 * MiB
const DEFAULT_LFS_PATTERNS = ['*.safetensors', '*.bin', '*.gguf', '*.pt']
const CACHE_FILE = '.hub-emulator-cache.json'
const DEFAULT_DATE = '2024-01-02T03:04:05.000Z'
const JSON_TYPE = 'application/json; charset=utf-8'
const SHA_RE = /^[0-9a-f]{40}$/
const HUB_PUBLIC_URL = 'https://huggingface.co'

// Expand keys the real Hub accepts (python huggingface_hub's ExpandModelProperty_T /
// ExpandDatasetProperty_T). Anything else is a 400, as on the Hub.
const MODEL_EXPAND = new Set([
  'author',
  'baseModels',
  'cardData',
  'childrenModelCount',
  'config',
  'createdAt',
  'disabled',
  'downloads',
  'downloadsAllTime',
  'gated',
  'gguf',
  'gitalyUid',
  'inference',
  'inferenceProviderMapping',
  'lastModified',
  'library_name',
  'likes',
  'mask_token',
  'model-index',
  'pipeline_tag',
  'private',
  'resourceGroup',
  'safetensors',
  'sha',
  'siblings',
  'spaces',
  'tags',
  'transformersInfo',
  'trendingScore',
  'usedStorage',
  'widgetData',
  'xetEnabled',
])
const DATASET_EXPAND = new Set([
  'author',
  'cardData',
  'citation',
  'createdAt',
  'description',
  'disabled',
  'downloads',
  'downloadsAllTime',
  'gated',
  'gitalyUid',
  'lastModified',
  'likes',
  'paperswithcode_id',
  'private',
  'resourceGroup',
  'sha',
  'siblings',
  'tags',
  'trendingScore',
  'usedStorage',
  'xetEnabled',
])

// ------------------------------------------------------------------------------------------------
// Hashing helpers

/** @param {string | Buffer} s */
const sha1Hex = (s) => createHash('sha1').update(s).digest('hex')

/** The git-lfs pointer text for a file. */
export function lfsPointer(sha256, size) {
  return `version https://git-lfs.github.com/spec/v1\noid sha256:${sha256}\nsize ${size}\n`
}

/** Git blob id of some bytes: sha1("blob <size>\0" + bytes). */
export function gitBlobOid(bytes) {
  const b = typeof bytes === 'string' ? Buffer.from(bytes) : bytes
  return createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex')
}

const ZERO_CHUNK = Buffer.alloc(4 * MiB)
/** sha256 of `size` zero bytes, computed once per size in this process. */
const zeroSha256Memo = new Map()
function zeroSha256(size) {
  let v = zeroSha256Memo.get(size)
  if (!v) {
    const h = createHash('sha256')
    for (let left = size; left > 0; left -= ZERO_CHUNK.length)
      h.update(left >= ZERO_CHUNK.length ? ZERO_CHUNK : ZERO_CHUNK.subarray(0, left))
    v = h.digest('hex')
    zeroSha256Memo.set(size, v)
  }
  return v
}
function zeroGitSha1(size) {
  const h = createHash('sha1').update(`blob ${size}\0`)
  for (let left = size; left > 0; left -= ZERO_CHUNK.length) h.update(left >= ZERO_CHUNK.length ? ZERO_CHUNK : ZERO_CHUNK.subarray(0, left))
  return h.digest('hex')
}

/** Streams a file once through the hashes asked for. */
async function hashFileOnDisk(abs, size, want) {
  const h256 = want.sha256 ? createHash('sha256') : null
  const h1 = want.sha1 ? createHash('sha1').update(`blob ${size}\0`) : null
  for await (const chunk of createReadStream(abs, { highWaterMark: 4 * MiB })) {
    h256?.update(chunk)
    h1?.update(chunk)
  }
  return { sha256: h256?.digest('hex'), sha1: h1?.digest('hex') }
}

function globToRegExp(glob) {
  let re = ''
  for (const ch of glob) {
    if (ch === '*') re += '[^/]*'
    else if (ch === '?') re += '[^/]'
    else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&')
  }
  return new RegExp(`^${re}$`)
}

function makeLfsRule(threshold = DEFAULT_LFS_THRESHOLD, patterns = DEFAULT_LFS_PATTERNS) {
  const res = patterns.map((p) => ({ re: globToRegExp(p), onBase: !p.includes('/') }))
  /** @param {string} path @param {number} size */
  return (path, size) => {
    // git-lfs never turns an empty file into a pointer.
    if (size === 0) return false
    if (size >= threshold) return true
    const base = path.slice(path.lastIndexOf('/') + 1)
    return res.some(({ re, onBase }) => re.test(onBase ? base : path))
  }
}

// ------------------------------------------------------------------------------------------------
// Hash cache: in memory, and a sidecar JSON per repo keyed by path + size + mtime (+ inode, so a
// hard-linked copy in a later commit is not hashed again).

class HashCache {
  constructor() {
    /** @type {Map<string, { data: Record<string, any>, loaded: Promise<void> | null, dirty: boolean, timer: any }>} */
    this.repos = new Map()
    /** @type {Map<string, Promise<any>>} */
    this.inflight = new Map()
  }

  repo(repoDir) {
    let r = this.repos.get(repoDir)
    if (!r) {
      r = { data: {}, loaded: null, dirty: false, timer: null }
      this.repos.set(repoDir, r)
    }
    if (!r.loaded) {
      r.loaded = fsp.readFile(join(repoDir, CACHE_FILE), 'utf8').then(
        (t) => {
          try {
            Object.assign(r.data, JSON.parse(t).entries ?? {})
          } catch {
            /* a torn cache is rebuilt */
          }
        },
        () => {},
      )
    }
    return r
  }

  /** Cached hashes for the file if its size/mtime/inode still match. */
  lookup(r, rel, st) {
    const e = r.data[rel]
    if (e && e.size === st.size && e.mtimeMs === st.mtimeMs && e.ino === st.ino) return e
    for (const other of Object.values(r.data)) {
      if (other.ino === st.ino && other.size === st.size && other.mtimeMs === st.mtimeMs && st.ino !== 0) return other
    }
    return undefined
  }

  store(repoDir, r, rel, st, hashes) {
    const prev = this.lookup(r, rel, st)
    r.data[rel] = { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, ...(prev ?? {}), ...stripUndef(hashes) }
    r.dirty = true
    if (!r.timer)
      r.timer = setTimeout(() => {
        r.timer = null
        void this.flushRepo(repoDir, r)
      }, 50)
  }

  async flushRepo(repoDir, r) {
    if (!r.dirty) return
    r.dirty = false
    const file = join(repoDir, CACHE_FILE)
    // Merge with what another process may have written meanwhile.
    let onDisk = {}
    try {
      onDisk = JSON.parse(await fsp.readFile(file, 'utf8')).entries ?? {}
    } catch {
      /* none yet */
    }
    const merged = { ...onDisk, ...r.data }
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
    try {
      await fsp.writeFile(tmp, JSON.stringify({ version: 1, entries: merged }))
      await fsp.rename(tmp, file)
    } catch {
      await fsp.rm(tmp, { force: true }).catch(() => {})
    }
  }

  async flushAll() {
    await Promise.all(
      [...this.repos].map(([dir, r]) => {
        if (r.timer) {
          clearTimeout(r.timer)
          r.timer = null
        }
        return this.flushRepo(dir, r)
      }),
    )
  }

  /**
   * @param {string} repoDir @param {string} rel path relative to repoDir @param {string} abs
   * @param {{ size: number, mtimeMs: number, ino: number }} st @param {{ sha256?: boolean, sha1?: boolean }} want
   * @returns {Promise<{ sha256?: string, sha1?: string }>}
   */
  async get(repoDir, rel, abs, st, want) {
    const r = this.repo(repoDir)
    await r.loaded
    const have = this.lookup(r, rel, st) ?? {}
    const need = { sha256: want.sha256 && !have.sha256, sha1: want.sha1 && !have.sha1 }
    if (!need.sha256 && !need.sha1) return have
    const key = `${abs}\0${st.size}\0${st.mtimeMs}\0${need.sha256}\0${need.sha1}`
    let p = this.inflight.get(key)
    if (!p) {
      p = hashFileOnDisk(abs, st.size, need)
        .then((h) => {
          this.store(repoDir, r, rel, st, h)
          return h
        })
        .finally(() => this.inflight.delete(key))
      this.inflight.set(key, p)
    }
    const h = await p
    return { ...have, ...stripUndef(h) }
  }
}

function stripUndef(o) {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined))
}

// ------------------------------------------------------------------------------------------------
// Repo layout on disk

/**
 * "ns/name" → model; "datasets/ns/name" → dataset (or opts.type).
 * @returns {{ type: 'model' | 'dataset', ns: string, name: string, id: string, key: string }}
 */
function parseRepoId(repoId, type) {
  let t = type ?? 'model'
  let rest = repoId
  if (rest.startsWith('datasets/')) {
    t = 'dataset'
    rest = rest.slice('datasets/'.length)
  } else if (rest.startsWith('models/')) {
    t = 'model'
    rest = rest.slice('models/'.length)
  }
  const parts = rest.split('/')
  if (parts.length !== 2 || !parts[0] || !parts[1] || parts.some((p) => p === '.' || p === '..')) {
    throw new TypeError(`repo id must be "namespace/name" (optionally "datasets/namespace/name"): ${repoId}`)
  }
  if (t !== 'model' && t !== 'dataset') throw new TypeError(`unsupported repo type: ${t}`)
  const [ns, name] = /** @type {[string, string]} */ (parts)
  return repoRef(t, ns, name)
}

/** `key` is how the Hub names the repo in paths and access lists: `ns/name`, `datasets/ns/name`. */
function repoRef(type, ns, name) {
  const id = `${ns}/${name}`
  return { type, ns, name, id, key: type === 'model' ? id : `datasets/${id}` }
}

const repoDirOf = (root, r) => join(root, `${r.type}s`, r.ns, r.name)

async function readJson(file) {
  try {
    return JSON.parse(await fsp.readFile(file, 'utf8'))
  } catch (e) {
    if (/** @type {any} */ (e).code === 'ENOENT') return undefined
    throw e
  }
}

/**
 * Every file and directory of one commit folder.
 * @returns {Promise<{ files: Map<string, { abs: string, rel: string, size: number, mtimeMs: number, ino: number }>, dirs: Map<string, Set<string>> }>}
 */
async function indexCommit(repoDir, sha) {
  const base = join(repoDir, 'commits', sha)
  const files = new Map()
  /** @type {Map<string, Set<string>>} dir path ('' = root) → child names */
  const dirs = new Map([['', new Set()]])
  async function walk(dirAbs, dirPath) {
    const ents = await fsp.readdir(dirAbs, { withFileTypes: true })
    for (const ent of ents) {
      const abs = join(dirAbs, ent.name)
      const path = dirPath ? `${dirPath}/${ent.name}` : ent.name
      const st = await fsp.stat(abs)
      if (st.isDirectory()) {
        dirs.get(dirPath)?.add(ent.name)
        dirs.set(path, new Set())
        await walk(abs, path)
      } else if (st.isFile()) {
        dirs.get(dirPath)?.add(ent.name)
        files.set(path, { abs, rel: `commits/${sha}/${path}`, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino })
      }
    }
  }
  await walk(base, '')
  return { files, dirs }
}

/** Git's tree order: byte order of names, a directory compared as "name/". */
function gitTreeSort(entries) {
  return entries.sort((a, b) => Buffer.compare(Buffer.from(a.dir ? `${a.name}/` : a.name), Buffer.from(b.dir ? `${b.name}/` : b.name)))
}

function gitTreeOid(entries) {
  const parts = gitTreeSort(entries).map((e) =>
    Buffer.concat([Buffer.from(`${e.dir ? '40000' : '100644'} ${e.name}\0`), Buffer.from(e.oid, 'hex')]),
  )
  const body = Buffer.concat(parts)
  return createHash('sha1').update(`tree ${body.length}\0`).update(body).digest('hex')
}

function gitCommitSha({ tree, parents, date, title }) {
  const t = Math.floor(Date.parse(date) / 1000)
  const who = `modelcar-emulator <emulator@modelcar.invalid> ${t} +0000`
  const body = [`tree ${tree}`, ...parents.map((p) => `parent ${p}`), `author ${who}`, `committer ${who}`, '', title, ''].join('\n')
  return sha1Hex(`commit ${Buffer.byteLength(body)}\0${body}`)
}

// ------------------------------------------------------------------------------------------------
// writeRepo / addCommit: build repos quickly in tests.

function normPath(p) {
  const parts = p.split('/')
  if (!p || p.startsWith('/') || parts.some((s) => s === '' || s === '.' || s === '..'))
    throw new TypeError(`bad file path in repo: ${JSON.stringify(p)}`)
  return p
}

/**
 * Writes one commit folder from a file spec (merged over `base` files, which are hard-linked)
 * and returns its deterministic sha (a real git commit id of that tree).
 */
async function writeCommit(root, r, files, { parents, baseSha, date, title, lfsThreshold, lfsPatterns }) {
  const repoDir = repoDirOf(root, r)
  const isLfs = makeLfsRule(lfsThreshold, lfsPatterns)
  const cache = new HashCache()
  const cr = cache.repo(repoDir)
  await cr.loaded

  /** @type {Map<string, { kind: 'buf', buf: Buffer } | { kind: 'sparse', size: number } | { kind: 'link', abs: string, size: number }>} */
  const plan = new Map()
  if (baseSha) {
    const base = await indexCommit(repoDir, baseSha)
    for (const [path, f] of base.files) plan.set(path, { kind: 'link', abs: f.abs, size: f.size })
  }
  for (const [rawPath, content] of Object.entries(files)) {
    const path = normPath(rawPath)
    if (content === null || content === undefined) {
      plan.delete(path)
      continue
    }
    if (typeof content === 'string') plan.set(path, { kind: 'buf', buf: Buffer.from(content) })
    else if (Buffer.isBuffer(content) || content instanceof Uint8Array)
      plan.set(path, { kind: 'buf', buf: Buffer.from(content.buffer, content.byteOffset, content.byteLength) })
    else if (typeof content === 'object' && Number.isSafeInteger(content.sparseSize) && content.sparseSize >= 0)
      plan.set(path, { kind: 'sparse', size: content.sparseSize })
    else throw new TypeError(`file ${path}: expected Buffer, string or { sparseSize }`)
  }
  // A file and a folder cannot share a path.
  for (const path of plan.keys()) {
    const segs = path.split('/')
    for (let i = 1; i < segs.length; i++) {
      if (plan.has(segs.slice(0, i).join('/'))) throw new TypeError(`${segs.slice(0, i).join('/')} is both a file and a folder`)
    }
  }

  // Hashes of each file (only what its kind needs: sha256 for LFS, git sha1 otherwise).
  /** @type {Map<string, { oid: string, sha256?: string, sha1?: string }>} */
  const hashes = new Map()
  for (const [path, item] of plan) {
    const size = item.kind === 'buf' ? item.buf.length : item.size
    const lfs = isLfs(path, size)
    /** @type {{ sha256?: string, sha1?: string }} */
    let h
    if (item.kind === 'buf') {
      h = lfs ? { sha256: createHash('sha256').update(item.buf).digest('hex') } : { sha1: gitBlobOid(item.buf) }
    } else if (item.kind === 'sparse') {
      h = lfs ? { sha256: zeroSha256(size) } : { sha1: zeroGitSha1(size) }
    } else {
      const st = await fsp.stat(item.abs)
      h = await cache.get(repoDir, `commits/${baseSha}/${path}`, item.abs, st, lfs ? { sha256: true } : { sha1: true })
    }
    const oid = lfs ? gitBlobOid(lfsPointer(/** @type {string} */ (h.sha256), size)) : /** @type {string} */ (h.sha1)
    hashes.set(path, { oid, ...h })
  }

  // Tree id, bottom-up.
  /** @type {Map<string, Array<{ name: string, dir: boolean, oid: string }>>} */
  const trees = new Map([['', []]])
  const ensureDir = (d) => {
    if (trees.has(d)) return
    trees.set(d, [])
    const i = d.lastIndexOf('/')
    ensureDir(i < 0 ? '' : d.slice(0, i))
  }
  for (const path of plan.keys()) {
    const i = path.lastIndexOf('/')
    ensureDir(i < 0 ? '' : path.slice(0, i))
  }
  for (const [path, h] of hashes) {
    const i = path.lastIndexOf('/')
    trees.get(i < 0 ? '' : path.slice(0, i))?.push({ name: path.slice(i + 1), dir: false, oid: h.oid })
  }
  const dirsDeepFirst = [...trees.keys()].filter((d) => d !== '').sort((a, b) => b.split('/').length - a.split('/').length)
  for (const d of dirsDeepFirst) {
    const i = d.lastIndexOf('/')
    trees.get(i < 0 ? '' : d.slice(0, i))?.push({ name: d.slice(i + 1), dir: true, oid: gitTreeOid(/** @type {any} */ (trees.get(d))) })
  }
  const tree = gitTreeOid(/** @type {any} */ (trees.get('')))
  const sha = gitCommitSha({ tree, parents, date, title })

  const commitDir = join(repoDir, 'commits', sha)
  const exists = await fsp.stat(commitDir).then(
    () => true,
    () => false,
  )
  if (!exists) {
    const tmpDir = join(repoDir, 'commits', `.tmp-${sha}-${randomBytes(4).toString('hex')}`)
    await fsp.mkdir(tmpDir, { recursive: true })
    for (const d of trees.keys()) if (d) await fsp.mkdir(join(tmpDir, d), { recursive: true })
    for (const [path, item] of plan) {
      const dest = join(tmpDir, path)
      if (item.kind === 'buf') await fsp.writeFile(dest, item.buf)
      else if (item.kind === 'sparse') {
        const fh = await fsp.open(dest, 'w')
        try {
          await fh.truncate(item.size)
        } finally {
          await fh.close()
        }
      } else {
        try {
          await fsp.link(item.abs, dest)
        } catch {
          await fsp.copyFile(item.abs, dest)
        }
      }
    }
    try {
      await fsp.rename(tmpDir, commitDir)
    } catch (e) {
      // Written meanwhile by someone else (same content, same sha): keep theirs.
      await fsp.rm(tmpDir, { recursive: true, force: true })
      if (
        !(await fsp.stat(commitDir).then(
          () => true,
          () => false,
        ))
      )
        throw e
    }
  }
  // Record the hashes in the sidecar cache so the emulator does not hash again.
  for (const [path, h] of hashes) {
    const abs = join(commitDir, path)
    const st = await fsp.stat(abs)
    cache.store(repoDir, cr, `commits/${sha}/${path}`, st, { sha256: h.sha256, sha1: h.sha1 })
  }
  await cache.flushAll()
  return sha
}

async function updateRepoJson(repoDir, fn) {
  const file = join(repoDir, 'repo.json')
  const cur = (await readJson(file)) ?? { private: false, gated: false, refs: {} }
  const next = fn(cur)
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`
  await fsp.writeFile(tmp, `${JSON.stringify(next, null, 2)}\n`)
  await fsp.rename(tmp, file)
}

/**
 * Creates (or re-creates) a repo with one root commit holding `files`, points `refs` (default
 * ["main"]) at it and returns the commit sha.
 */
export async function writeRepo(root, repoId, opts) {
  const r = parseRepoId(repoId, opts.type)
  const repoDir = repoDirOf(root, r)
  await fsp.mkdir(join(repoDir, 'commits'), { recursive: true })
  const date = opts.date ?? DEFAULT_DATE
  const title = opts.title ?? 'Upload folder using huggingface_hub'
  const sha = await writeCommit(root, r, opts.files ?? {}, {
    parents: [],
    date,
    title,
    lfsThreshold: opts.lfsThreshold,
    lfsPatterns: opts.lfsPatterns,
  })
  const refs = opts.refs ?? ['main']
  await updateRepoJson(repoDir, (cur) => {
    const out = {
      ...cur,
      private: opts.private ?? false,
      gated: opts.gated ?? false,
      refs: { ...(cur.refs ?? {}), ...Object.fromEntries(refs.map((ref) => [ref, sha])) },
      commits: { ...(cur.commits ?? {}), [sha]: { parents: [], date, title } },
      createdAt: cur.createdAt ?? date,
    }
    for (const k of ['pipeline_tag', 'library_name', 'tags']) if (opts[k] !== undefined) out[k] = opts[k]
    return out
  })
  return sha
}

/**
 * Adds a commit on top of `ref` (default "main"): the parent's files plus `files` (null deletes a
 * file), moves the ref to it and returns the new sha. The emulator sees the move on its next request.
 */
export async function addCommit(root, repoId, files, opts = {}) {
  const r = parseRepoId(repoId, opts.type)
  const repoDir = repoDirOf(root, r)
  const meta = await readJson(join(repoDir, 'repo.json'))
  if (!meta) throw new Error(`no repo at ${repoDir}`)
  const ref = opts.ref ?? 'main'
  const parent = opts.parent ?? meta.refs?.[ref] ?? meta.refs?.main
  if (!parent) throw new Error(`repo ${repoId} has no ref ${ref} and no main`)
  const parentDate = meta.commits?.[parent]?.date ?? DEFAULT_DATE
  const date = opts.date ?? new Date(Date.parse(parentDate) + 3600_000).toISOString()
  const title = opts.title ?? 'Update files'
  const sha = await writeCommit(root, r, files, {
    parents: [parent],
    baseSha: parent,
    date,
    title,
    lfsThreshold: opts.lfsThreshold,
    lfsPatterns: opts.lfsPatterns,
  })
  await updateRepoJson(repoDir, (cur) => ({
    ...cur,
    refs: { ...(cur.refs ?? {}), [ref]: sha },
    commits: { ...(cur.commits ?? {}), [sha]: { parents: [parent], date, title } },
  }))
  return sha
}

// ------------------------------------------------------------------------------------------------
// HTTP helpers

function requestId() {
  return `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')};${randomUUID()}`
}

/** Resolves on 'drain' or 'close', whichever comes first, and removes both listeners. */
function drainOrClose(res) {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done)
      res.off('close', done)
      resolve(undefined)
    }
    res.on('drain', done)
    res.on('close', done)
  })
}

/** Throwing this from a handler sends it as the response. */
class HttpError extends Error {
  /**
   * @param {number} status @param {string} message
   * @param {{ code?: string, headers?: Record<string, string>, text?: boolean, xml?: boolean, noXErrorMessage?: boolean }} [opts]
   */
  constructor(status, message, opts = {}) {
    super(message)
    this.status = status
    this.opts = opts
  }
}

function sendError(res, err) {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const headers = { ...(err.opts.headers ?? {}) }
  if (err.opts.code) headers['X-Error-Code'] = err.opts.code
  if (err.opts.code && !err.opts.noXErrorMessage) headers['X-Error-Message'] = headerSafe(err.message)
  if (err.opts.text || err.opts.xml) {
    const body = Buffer.from(err.message)
    res.writeHead(err.status, {
      ...headers,
      'Content-Type': err.opts.xml ? 'application/xml' : 'text/plain; charset=utf-8',
      'Content-Length': body.length,
    })
    res.end(body)
  } else {
    sendJson(res, err.status, { error: err.message }, headers)
  }
}

function headerSafe(s) {
  return s.replace(/[^\x20-\x7e]/g, '?')
}

function sendJson(res, status, value, headers = {}) {
  const body = Buffer.from(JSON.stringify(value))
  res.writeHead(status, { ...headers, 'Content-Type': JSON_TYPE, 'Content-Length': body.length })
  res.end(body)
}

/**
 * RFC 9110 byte ranges, one range only (a multi-range request is served whole, as S3 does).
 * @returns {{ kind: 'none' } | { kind: 'unsatisfiable' } | { kind: 'range', start: number, end: number }}
 */
function parseRange(header, size) {
  if (header === undefined) return { kind: 'none' }
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header)
  if (!m) return { kind: 'none' } // invalid or multiple ranges: ignored
  const [, a, b] = m
  if (a === '' && b === '') return { kind: 'none' }
  if (a === '') {
    const n = Number(b)
    if (n === 0 || size === 0) return { kind: 'unsatisfiable' }
    return { kind: 'range', start: Math.max(0, size - n), end: size - 1 }
  }
  const start = Number(a)
  if (b !== '' && Number(b) < start) return { kind: 'none' } // syntactically invalid: ignored
  if (start >= size) return { kind: 'unsatisfiable' }
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1)
  return { kind: 'range', start, end }
}

function contentDisposition(path) {
  const base = path.slice(path.lastIndexOf('/') + 1)
  const ascii = base.replace(/[^\x20-\x7e]|["\\]/g, '_')
  return `inline; filename*=UTF-8''${encodeURIComponent(base)}; filename="${ascii}";`
}

function contentTypeOf(path) {
  return /\.(json|txt|md|py|yaml|yml|jinja|csv|tsv|cfg|ini|toml|gitattributes|model)$/i.test(path) || path.endsWith('.gitattributes')
    ? 'text/plain; charset=utf-8'
    : 'application/octet-stream'
}

function decodeSeg(s) {
  try {
    return decodeURIComponent(s)
  } catch {
    throw new HttpError(400, `Invalid URL encoding: ${s}`)
  }
}

// ------------------------------------------------------------------------------------------------
// The emulator

/**
 * @param {import('./hub-emulator.d.mts').HubEmulatorOptions} opts
 * @returns {Promise<import('./hub-emulator.d.mts').HubEmulator>}
 */
export async function startHubEmulator(opts) {
  if (!opts?.root) throw new TypeError('startHubEmulator: opts.root is required')
  const root = opts.root
  const host = opts.host ?? '127.0.0.1'
  const isLfs = makeLfsRule(opts.lfsThreshold, opts.lfsPatterns)
  const pageSize = opts.pageSize ?? 1000
  const expandPageSize = opts.expandPageSize ?? Math.min(50, pageSize)
  const tokens = opts.tokens ?? {}
  for (const t of Object.keys(tokens)) if (!t.startsWith('hf_')) throw new TypeError(`token ${t.slice(0, 4)}… must start with hf_`)
  const xCache = opts.cdnXCache === undefined ? 'Miss from cloudfront' : opts.cdnXCache
  const cdnTtl = opts.cdnUrlTtlSeconds ?? 3600
  const secret = randomBytes(32)
  const cache = new HashCache()
  /** @type {import('./hub-emulator.d.mts').RequestLog[]} */
  const requests = []
  /** CDN object path → what it serves. */
  const cdnObjects = new Map()

  // ---- faults
  let faults = normalizeFaults(opts.faults)
  function normalizeFaults(f) {
    return {
      cutAt: Object.fromEntries(Object.entries(f?.cutAt ?? {}).map(([k, v]) => [k, [...v]])),
      status: Object.fromEntries(Object.entries(f?.status ?? {}).map(([k, v]) => [k, [...v]])),
      cutEveryFile: f?.cutEveryFile ? { ...f.cutEveryFile } : undefined,
      everyCount: new Map(),
      api: [...(f?.api ?? [])],
    }
  }
  /** Keys a fault may be registered under for this file, most specific first. */
  function faultKeys(where, repoKey, path) {
    return [`${where}:${repoKey}/${path}`, `${where}:${path}`, `${repoKey}/${path}`, path]
  }
  function takeStatusFault(where, repoKey, path) {
    for (const k of faultKeys(where, repoKey, path)) {
      const list = faults.status[k]
      if (list?.length) return list.shift()
    }
    return undefined
  }
  /** How many body bytes to send before cutting, or undefined. Consumed only when it cuts. */
  function takeCut(where, repoKey, path, fileSize, bodyLen) {
    for (const k of faultKeys(where, repoKey, path)) {
      const list = faults.cutAt[k]
      if (list?.length && /** @type {number} */ (list[0]) < bodyLen) return list.shift()
    }
    const every = faults.cutEveryFile
    if (every) {
      const id = `${repoKey}/${path}`
      const n = faults.everyCount.get(id) ?? 0
      const at = Math.floor(fileSize * every.fraction)
      if (n < every.times && at < bodyLen) {
        faults.everyCount.set(id, n + 1)
        return at
      }
    }
    return undefined
  }
  function statusFaultError(f, where) {
    const headers = f.retryAfter !== undefined ? { 'Retry-After': String(f.retryAfter) } : {}
    const message = f.status === 429 ? 'Too Many Requests' : f.status === 503 ? 'Service Unavailable' : `Error ${f.status}`
    return new HttpError(f.status, message, { headers, text: where === 'cdn' })
  }

  // ---- auth
  function readAuth(req) {
    const h = req.headers.authorization
    if (h === undefined) return { token: undefined }
    const m = /^Bearer\s+(\S+)\s*$/i.exec(h)
    const info = m && /** @type {string} */ (m[1]).startsWith('hf_') ? tokens[/** @type {string} */ (m[1])] : undefined
    if (!info) throw new HttpError(401, 'Invalid credentials in Authorization header')
    return { token: info }
  }
  const canRead = (tok, r) => !!tok && (tok.user === r.ns || (tok.access ?? []).includes(r.key))

  /** Repo metadata if the caller may see the repo; the Hub's 401/404 otherwise. */
  async function openRepo(req, type, ns, name) {
    const auth = readAuth(req)
    const r = repoRef(type, ns, name)
    const repoDir = repoDirOf(root, r)
    const okName = (s) => s && s !== '.' && s !== '..' && !s.includes('/') && !s.includes('\\')
    const meta = okName(ns) && okName(name) ? await readJson(join(repoDir, 'repo.json')) : undefined
    if (!meta || (meta.private && !canRead(auth.token, r))) {
      // 401 for anonymous callers (private and missing look the same), 404 once authenticated [guess
      // for the 404, from python's hf_raise_for_status comment].
      throw new HttpError(auth.token ? 404 : 401, 'Repository not found', { code: 'RepoNotFound' })
    }
    return { r, repoDir, meta, auth }
  }

  /** For file contents: gated repos need a token that was granted access. */
  function checkGate(ctx) {
    const { meta, auth, r } = ctx
    if (!meta.gated || canRead(auth.token, r)) return
    const kind = r.type === 'model' ? 'model' : 'dataset'
    const page = r.type === 'model' ? `${HUB_PUBLIC_URL}/${r.id}` : `${HUB_PUBLIC_URL}/datasets/${r.id}`
    if (!auth.token) {
      throw new HttpError(
        401,
        `Access to ${kind} ${r.id} is restricted. You must have access to it and be authenticated to access it. Please log in.`,
        { code: 'GatedRepo' },
      )
    }
    throw new HttpError(
      403,
      `Access to ${kind} ${r.id} is restricted and you are not in the authorized list. Visit ${page} to ask for access.`,
      { code: 'GatedRepo' },
    )
  }

  function resolveRev(meta, rev) {
    const refs = meta.refs ?? {}
    const want = rev === 'HEAD' ? 'main' : rev
    if (Object.hasOwn(refs, want) && SHA_RE.test(refs[want])) return refs[want]
    if (SHA_RE.test(rev)) return rev
    return undefined
  }

  async function openRevision(ctx, rev) {
    const sha = resolveRev(ctx.meta, rev)
    const revErr = () => new HttpError(404, `Invalid rev id: ${rev}`, { code: 'RevisionNotFound' })
    if (!sha) throw revErr()
    let index
    try {
      index = await indexCommit(ctx.repoDir, sha)
    } catch (e) {
      if (/** @type {any} */ (e).code === 'ENOENT') throw revErr()
      throw e
    }
    return { sha, index }
  }

  // ---- per-file facts
  async function fileFacts(ctx, f, path) {
    const lfs = isLfs(path, f.size)
    const st = { size: f.size, mtimeMs: f.mtimeMs, ino: f.ino }
    const h = await cache.get(ctx.repoDir, f.rel, f.abs, st, lfs ? { sha256: true } : { sha1: true })
    if (lfs) {
      const pointer = lfsPointer(/** @type {string} */ (h.sha256), f.size)
      return { lfs: true, size: f.size, sha256: /** @type {string} */ (h.sha256), pointer, oid: gitBlobOid(pointer) }
    }
    return { lfs: false, size: f.size, oid: /** @type {string} */ (h.sha1) }
  }

  /** Git tree id of a directory of one commit (memoised per index object). */
  async function dirOid(ctx, index, dir) {
    index.treeOids ??= new Map()
    const memo = index.treeOids.get(dir)
    if (memo) return memo
    const p = (async () => {
      const entries = []
      for (const name of index.dirs.get(dir) ?? []) {
        const path = dir ? `${dir}/${name}` : name
        const f = index.files.get(path)
        if (f) entries.push({ name, dir: false, oid: (await fileFacts(ctx, f, path)).oid })
        else entries.push({ name, dir: true, oid: await dirOid(ctx, index, path) })
      }
      return gitTreeOid(entries)
    })()
    index.treeOids.set(dir, p)
    return p
  }

  async function oidAt(ctx, index, path) {
    const f = index.files.get(path)
    if (f) return (await fileFacts(ctx, f, path)).oid
    if (index.dirs.has(path)) return dirOid(ctx, index, path)
    return undefined
  }

  function commitMeta(ctx, sha) {
    const c = ctx.meta.commits?.[sha]
    return { parents: c?.parents ?? [], date: c?.date, title: c?.title ?? 'Upload folder using huggingface_hub' }
  }

  async function commitDate(ctx, sha) {
    const c = ctx.meta.commits?.[sha]
    if (c?.date) return new Date(c.date).toISOString()
    const st = await fsp.stat(join(ctx.repoDir, 'commits', sha)).catch(() => undefined)
    return (st ? st.mtime : new Date(DEFAULT_DATE)).toISOString()
  }

  /** The newest commit on the first-parent chain that changed `path`. */
  async function lastCommitOf(ctx, sha, index, path) {
    let cur = sha
    let curOid = await oidAt(ctx, index, path)
    for (let guard = 0; guard < 1000; guard++) {
      const parent = commitMeta(ctx, cur).parents[0]
      if (!parent) break
      let pIndex
      try {
        pIndex = await indexCommit(ctx.repoDir, parent)
      } catch {
        break
      }
      const pOid = await oidAt(ctx, pIndex, path)
      if (pOid !== curOid) break
      cur = parent
      curOid = pOid
    }
    return { id: cur, title: commitMeta(ctx, cur).title, date: await commitDate(ctx, cur) }
  }

  async function treeEntry(ctx, rev, path, expand) {
    const { index, sha } = rev
    const f = index.files.get(path)
    /** @type {Record<string, any>} */
    let e
    if (f) {
      const facts = await fileFacts(ctx, f, path)
      e = { type: 'file', oid: facts.oid, size: f.size, path }
      if (facts.lfs) e.lfs = { oid: facts.sha256, size: f.size, pointerSize: Buffer.byteLength(/** @type {string} */ (facts.pointer)) }
    } else {
      e = { type: 'directory', oid: await dirOid(ctx, index, path), size: 0, path }
    }
    if (expand) {
      e.lastCommit = await lastCommitOf(ctx, sha, index, path)
      if (f) e.securityFileStatus = { status: 'unscanned' }
    }
    return e
  }

  // ---- routes
  /** `main/a/b` → rev `main`, rest `a/b`; `refs/pr/1/a` keeps the three segments of a PR ref. */
  function splitRevision(segs) {
    if (segs[0] === 'refs' && segs.length >= 3 && (segs[1] === 'pr' || segs[1] === 'convert')) {
      return { rev: `refs/${segs[1]}/${decodeSeg(/** @type {string} */ (segs[2]))}`, rest: segs.slice(3) }
    }
    return { rev: decodeSeg(segs[0] ?? ''), rest: segs.slice(1) }
  }

  /** The Link header to the next page: the same query, with `cursor` (base64url) naming the last entry sent. */
  function nextPageLink(url, cursor) {
    const next = new URL(url.pathname, hubUrl)
    for (const [k, v] of url.searchParams) if (k !== 'cursor') next.searchParams.append(k, v)
    next.searchParams.set('cursor', Buffer.from(cursor).toString('base64url'))
    return `<${next.href}>; rel="next"`
  }

  function cmpListing(a, b) {
    return a.dir - b.dir || Buffer.compare(Buffer.from(a.path), Buffer.from(b.path))
  }

  async function handleTree(req, res, url, ctx, segs) {
    // The client does not encode the revision here: "refs/pr/1" may arrive raw.
    const { rev, rest } = splitRevision(segs)
    const dirPath = rest
      .filter((s) => s !== '')
      .map(decodeSeg)
      .join('/')
    const recursive = url.searchParams.get('recursive') === 'true' || url.searchParams.get('recursive') === '1'
    const expand = url.searchParams.get('expand') === 'true' || url.searchParams.get('expand') === '1'
    const revision = await openRevision(ctx, rev)
    if (dirPath !== '' && !revision.index.dirs.has(dirPath)) {
      // [guess] a file path or a missing path is a 404 EntryNotFound, like the olah mirror.
      throw new HttpError(404, `${dirPath} does not exist on "${rev}"`, { code: 'EntryNotFound' })
    }
    // Paths to list: directories first, then files, each in byte order [guess: gitaly's
    // trees-first order].
    const paths = []
    const visit = (dir) => {
      for (const name of revision.index.dirs.get(dir) ?? []) {
        const p = dir ? `${dir}/${name}` : name
        paths.push({ dir: revision.index.files.has(p) ? 1 : 0, path: p })
        if (recursive && !revision.index.files.has(p)) visit(p)
      }
    }
    visit(dirPath)
    paths.sort(cmpListing)
    // The cursor holds the last entry sent, so a listing that spans a change of the tree goes on
    // from there, as a keyset cursor does.
    let from = 0
    const cursor = url.searchParams.get('cursor')
    if (cursor !== null) {
      let last
      try {
        last = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
        if (typeof last?.path !== 'string' || (last.dir !== 0 && last.dir !== 1)) throw new Error('bad')
      } catch {
        throw new HttpError(400, 'Invalid cursor')
      }
      from = paths.findIndex((p) => cmpListing(p, last) > 0)
      if (from < 0) from = paths.length
    }
    const size = expand ? expandPageSize : pageSize
    const page = paths.slice(from, from + size)
    const out = []
    for (const p of page) out.push(await treeEntry(ctx, revision, p.path, expand))
    const headers = {}
    if (from + size < paths.length && page.length > 0) {
      const { dir, path } = /** @type {{ dir: number, path: string }} */ (page[page.length - 1])
      headers.Link = nextPageLink(url, JSON.stringify({ dir, path }))
    }
    sendJson(res, 200, out, headers)
  }

  async function readBody(req, limit = 1 * MiB) {
    const chunks = []
    let n = 0
    for await (const c of req) {
      n += c.length
      if (n > limit) throw new HttpError(413, 'Request body too large')
      chunks.push(c)
    }
    return Buffer.concat(chunks).toString('utf8')
  }

  async function handlePathsInfo(req, res, ctx, segs) {
    const rev = decodeSeg(segs.join('/'))
    const text = await readBody(req)
    const ctype = String(req.headers['content-type'] ?? '')
    let paths
    let expand
    if (ctype.startsWith('application/json')) {
      let body
      try {
        body = JSON.parse(text)
      } catch {
        throw new HttpError(400, 'Invalid JSON body')
      }
      paths = typeof body?.paths === 'string' ? [body.paths] : body?.paths
      expand = body?.expand === true || body?.expand === 'true'
    } else {
      // python huggingface_hub posts a form: paths=a&paths=b&expand=True
      const form = new URLSearchParams(text)
      paths = form.getAll('paths')
      expand = /^(true|1)$/i.test(form.get('expand') ?? '')
    }
    if (!Array.isArray(paths) || paths.length === 0 || !paths.every((p) => typeof p === 'string')) {
      throw new HttpError(400, '"paths" must be a non-empty array of strings')
    }
    const revision = await openRevision(ctx, rev)
    const out = []
    for (const raw of paths) {
      const p = raw.replace(/^\/+|\/+$/g, '')
      if (revision.index.files.has(p) || (p !== '' && revision.index.dirs.has(p))) out.push(await treeEntry(ctx, revision, p, expand))
    }
    sendJson(res, 200, out)
  }

  function expandList(url) {
    return [...url.searchParams.getAll('expand'), ...url.searchParams.getAll('expand[]')]
  }

  async function repoInfoJson(ctx, sha, index, url) {
    const { r, meta } = ctx
    const expand = expandList(url)
    const allowed = r.type === 'model' ? MODEL_EXPAND : DATASET_EXPAND
    for (const k of expand) {
      if (!allowed.has(k)) throw new HttpError(400, `"expand" must be one of [${[...allowed].join(', ')}]`)
    }
    const siblingsOf = async () => {
      const blobs = url.searchParams.get('blobs') === 'true'
      const names = [...index.files.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
      const out = []
      for (const name of names) {
        if (!blobs) {
          out.push({ rfilename: name })
          continue
        }
        const f = /** @type {any} */ (index.files.get(name))
        const facts = await fileFacts(ctx, f, name)
        out.push({
          rfilename: name,
          blobId: facts.oid,
          size: f.size,
          ...(facts.lfs
            ? { lfs: { sha256: facts.sha256, size: f.size, pointerSize: Buffer.byteLength(/** @type {string} */ (facts.pointer)) } }
            : {}),
        })
      }
      return out
    }
    const lastModified = await commitDate(ctx, sha)
    const usedStorage = [...index.files.values()].reduce((a, f) => a + f.size, 0)
    /** @type {Record<string, () => any>} */
    const fields = {
      author: () => r.ns,
      sha: () => sha,
      lastModified: () => lastModified,
      private: () => !!meta.private,
      gated: () => meta.gated ?? false,
      disabled: () => false,
      downloads: () => 0,
      downloadsAllTime: () => 0,
      likes: () => 0,
      tags: () => meta.tags ?? [],
      createdAt: () => meta.createdAt ?? lastModified,
      usedStorage: () => usedStorage,
      siblings: siblingsOf,
      ...(r.type === 'model'
        ? { pipeline_tag: () => meta.pipeline_tag, library_name: () => meta.library_name }
        : { description: () => meta.description, citation: () => meta.citation }),
    }
    const id = `${r.ns}/${r.name}`
    /** @type {Record<string, any>} */
    const out = { _id: sha1Hex(`${r.type}:${id}`).slice(0, 24), id }
    // With expand, the Hub returns only _id, id and the properties asked for.
    const keys = expand.length ? expand : Object.keys(fields)
    if (!expand.length && r.type === 'model') out.modelId = id
    for (const k of keys) {
      const v = fields[k] ? await fields[k]() : undefined
      if (v !== undefined) out[k] = v
    }
    return out
  }

  async function handleInfo(req, res, url, ctx, rev) {
    const revision = await openRevision(ctx, rev)
    sendJson(res, 200, await repoInfoJson(ctx, revision.sha, revision.index, url))
  }

  async function handleList(req, res, url, type) {
    const auth = readAuth(req)
    const author = url.searchParams.get('author')
    const search = url.searchParams.get('search')
    const limit = Math.max(1, Math.min(Number(url.searchParams.get('limit') ?? 1000) || 1000, 1000))
    const base = join(root, `${type}s`)
    const ids = []
    for (const ns of await fsp.readdir(base).catch(() => [])) {
      if (author && ns !== author) continue
      for (const name of await fsp.readdir(join(base, ns)).catch(() => [])) ids.push(`${ns}/${name}`)
    }
    ids.sort()
    const visible = []
    for (const id of ids) {
      const [ns, name] = /** @type {[string, string]} */ (id.split('/'))
      const r = repoRef(type, ns, name)
      const meta = await readJson(join(repoDirOf(root, r), 'repo.json'))
      if (!meta || (meta.private && !canRead(auth.token, r))) continue
      if (search && !id.toLowerCase().includes(search.toLowerCase())) continue
      visible.push({ r, meta })
    }
    const cursor = url.searchParams.get('cursor')
    let from = 0
    if (cursor !== null) {
      const last = Buffer.from(cursor, 'base64url').toString('utf8')
      from = visible.findIndex((v) => v.r.id > last)
      if (from < 0) from = visible.length
    }
    const page = visible.slice(from, from + limit)
    const out = []
    for (const { r, meta } of page) {
      const ctx = { r, meta, repoDir: repoDirOf(root, r), auth }
      const sha = resolveRev(meta, 'HEAD')
      if (!sha) continue
      const index = await indexCommit(ctx.repoDir, sha).catch(() => undefined)
      if (!index) continue
      const info = await repoInfoJson(ctx, sha, index, url)
      if (!expandList(url).length) delete info.siblings
      out.push(info)
    }
    const headers = {}
    if (from + limit < visible.length && page.length) headers.Link = nextPageLink(url, /** @type {any} */ (page[page.length - 1]).r.id)
    sendJson(res, 200, out, headers)
  }

  /** Serves [start..end] of a file, cutting the connection after `cut` body bytes if asked. */
  async function sendFileBody(req, res, entry, abs, start, end, cut) {
    const len = end - start + 1
    if (req.method === 'HEAD' || len <= 0) {
      res.end()
      return
    }
    const toSend = cut === undefined ? len : cut
    let sent = 0
    let lastWrite = Promise.resolve()
    if (toSend > 0) {
      const rs = createReadStream(abs, { start, end: start + toSend - 1, highWaterMark: MiB })
      try {
        for await (const chunk of rs) {
          if (res.destroyed) {
            rs.destroy()
            break
          }
          lastWrite = new Promise((resolve) => {
            res.write(chunk, () => resolve(undefined))
          })
          sent += chunk.length
          entry.bytes = sent
          if (res.writableNeedDrain) await drainOrClose(res)
        }
      } catch (e) {
        res.destroy(/** @type {Error} */ (e))
        return
      }
    }
    if (cut === undefined) {
      res.end()
      return
    }
    // The fault: headers and `cut` body bytes are out; now drop the connection mid-body.
    entry.cut = true
    if (toSend === 0) res.flushHeaders()
    const closed = new Promise((resolve) => res.once('close', resolve))
    await Promise.race([lastWrite, closed])
    const sock = res.socket
    for (let i = 0; i < 100 && sock && sock.writableLength > 0; i++) await new Promise((r) => setTimeout(r, 2))
    sock?.destroy()
  }

  /** 200/206/416 for a byte source with the given identity headers. */
  async function serveBytes(req, res, entry, { abs, size, etag, headers, where, repoKey, path, lastModified }) {
    let range = parseRange(req.headers.range, size)
    const ifRange = req.headers['if-range']
    if (range.kind !== 'none' && ifRange !== undefined) {
      const matches = ifRange.startsWith('"') ? ifRange === etag : ifRange === lastModified
      if (!matches) range = { kind: 'none' }
    }
    const base = { ...headers, 'Accept-Ranges': 'bytes', ETag: etag, 'Last-Modified': lastModified }
    if (range.kind === 'unsatisfiable') {
      throw new HttpError(416, 'Requested Range Not Satisfiable', { text: true, headers: { ...base, 'Content-Range': `bytes */${size}` } })
    }
    const start = range.kind === 'range' ? range.start : 0
    const end = range.kind === 'range' ? range.end : size - 1
    const len = Math.max(0, end - start + 1)
    const cut = req.method === 'GET' ? takeCut(where, repoKey, path, size, len) : undefined
    if (range.kind === 'range') {
      res.writeHead(206, { ...base, 'Content-Length': len, 'Content-Range': `bytes ${start}-${end}/${size}` })
    } else {
      res.writeHead(200, { ...base, 'Content-Length': size })
    }
    await sendFileBody(req, res, entry, abs, start, end, cut)
  }

  async function handleResolve(req, res, url, entry, ctx, mode, segs) {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'Method Not Allowed')
    const { rev, rest } = splitRevision(segs)
    const path = rest.map(decodeSeg).join('/')
    const fault = takeStatusFault('hub', ctx.r.key, path)
    if (fault) throw statusFaultError(fault, 'hub')
    checkGate(ctx)
    const revision = await openRevision(ctx, rev)
    const f = revision.index.files.get(path)
    if (!f) throw new HttpError(404, 'Entry not found', { code: 'EntryNotFound' })
    const facts = await fileFacts(ctx, f, path)
    const lastModified = new Date(await commitDate(ctx, revision.sha)).toUTCString()
    const common = { 'X-Repo-Commit': revision.sha }
    if (url.searchParams.get('noContentDisposition') !== '1') common['Content-Disposition'] = contentDisposition(path)

    if (facts.lfs && mode === 'raw') {
      // raw of an LFS file: the pointer text.
      const pointer = Buffer.from(/** @type {string} */ (facts.pointer))
      let range = parseRange(req.headers.range, pointer.length)
      const base = {
        ...common,
        'Content-Type': 'text/plain; charset=utf-8',
        'Accept-Ranges': 'bytes',
        ETag: `"${facts.oid}"`,
        'Last-Modified': lastModified,
      }
      if (range.kind === 'unsatisfiable')
        throw new HttpError(416, 'Requested Range Not Satisfiable', {
          text: true,
          headers: { ...base, 'Content-Range': `bytes */${pointer.length}` },
        })
      const body = range.kind === 'range' ? pointer.subarray(range.start, range.end + 1) : pointer
      res.writeHead(range.kind === 'range' ? 206 : 200, {
        ...base,
        'Content-Length': body.length,
        ...(range.kind === 'range' ? { 'Content-Range': `bytes ${range.start}-${range.end}/${pointer.length}` } : {}),
      })
      res.end(body)
      entry.bytes = req.method === 'HEAD' ? 0 : body.length
      return
    }
    if (facts.lfs) {
      // resolve of an LFS file: 302 to the CDN, on another origin, with a signed expiring URL.
      const objectPath = `/repos/${ctx.r.type}s/${ctx.r.ns}/${ctx.r.name}/${facts.sha256}`
      cdnObjects.set(objectPath, { abs: f.abs, size: f.size, sha256: facts.sha256, repoKey: ctx.r.key, path, lastModified })
      const expires = Math.floor(Date.now() / 1000) + cdnTtl
      const q = new URLSearchParams({
        'response-content-disposition': contentDisposition(path),
        Expires: String(expires),
        Signature: sign(objectPath, expires),
        'Key-Pair-Id': 'KEMULATOR',
      })
      const location = `${cdnUrl}${objectPath}?${q}`
      const body = Buffer.from(`Found. Redirecting to ${location}`)
      res.writeHead(302, {
        ...common,
        Location: location,
        ETag: `"${facts.oid}"`,
        'X-Linked-Etag': `"${facts.sha256}"`,
        'X-Linked-Size': String(f.size),
        'Content-Type': 'text/plain; charset=utf-8',
        'Content-Length': body.length,
      })
      res.end(body)
      return
    }
    await serveBytes(req, res, entry, {
      abs: f.abs,
      size: f.size,
      etag: `"${facts.oid}"`,
      where: 'hub',
      repoKey: ctx.r.key,
      path,
      lastModified,
      headers: { ...common, 'Content-Type': contentTypeOf(path) },
    })
  }

  function sign(objectPath, expires) {
    return createHmac('sha256', secret).update(`${objectPath}\n${expires}`).digest('hex')
  }

  async function hubHandler(req, res, entry) {
    const url = new URL(req.url ?? '/', hubUrl)
    const segs = url.pathname.split('/').slice(1)
    if (segs[0] === 'api' && (segs[1] === 'models' || segs[1] === 'datasets')) {
      const apiFault = faults.api.shift()
      if (apiFault) throw statusFaultError(apiFault, 'hub')
      const type = segs[1] === 'models' ? 'model' : 'dataset'
      if (segs.length === 2 || (segs.length === 3 && segs[2] === '')) {
        if (req.method !== 'GET') throw new HttpError(405, 'Method Not Allowed')
        return handleList(req, res, url, type)
      }
      if (segs.length < 4) throw new HttpError(404, "Sorry, we can't find the page you are looking for.")
      const ns = decodeSeg(/** @type {string} */ (segs[2]))
      const name = decodeSeg(/** @type {string} */ (segs[3]))
      const op = segs[4]
      const more = segs.slice(5)
      if (op === undefined || op === '') {
        if (req.method !== 'GET') throw new HttpError(405, 'Method Not Allowed')
        const ctx = await openRepo(req, type, ns, name)
        return handleInfo(req, res, url, ctx, 'HEAD')
      }
      if (op === 'revision' && more.length && req.method === 'GET') {
        const ctx = await openRepo(req, type, ns, name)
        return handleInfo(req, res, url, ctx, decodeSeg(more.join('/')))
      }
      if (op === 'tree' && more.length && req.method === 'GET') {
        const ctx = await openRepo(req, type, ns, name)
        return handleTree(req, res, url, ctx, more)
      }
      if (op === 'paths-info' && more.length && req.method === 'POST') {
        const ctx = await openRepo(req, type, ns, name)
        return handlePathsInfo(req, res, ctx, more)
      }
      throw new HttpError(404, "Sorry, we can't find the page you are looking for.")
    }
    // /{ns}/{name}/(resolve|raw)/{rev}/{path} and /datasets/{ns}/{name}/…
    let type = 'model'
    let s = segs
    if (s[0] === 'datasets') {
      type = 'dataset'
      s = s.slice(1)
    }
    if (s.length >= 5 && (s[2] === 'resolve' || s[2] === 'raw')) {
      const ctx = await openRepo(req, type, decodeSeg(/** @type {string} */ (s[0])), decodeSeg(/** @type {string} */ (s[1])))
      return handleResolve(req, res, url, entry, ctx, s[2], s.slice(3))
    }
    throw new HttpError(404, 'Not Found', { text: true })
  }

  async function cdnHandler(req, res, entry) {
    const url = new URL(req.url ?? '/', cdnUrl)
    const xc = xCache ? { 'X-Cache': xCache } : {}
    const denied = () =>
      new HttpError(403, '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access denied</Message></Error>', {
        xml: true,
        headers: xc,
      })
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'Method Not Allowed', { text: true, headers: xc })
    if (opts.cdnRejectAuthorization && req.headers.authorization !== undefined) {
      throw new HttpError(
        400,
        '<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed</Message></Error>',
        { xml: true, headers: xc },
      )
    }
    const expires = Number(url.searchParams.get('Expires'))
    const sig = url.searchParams.get('Signature') ?? ''
    if (!Number.isSafeInteger(expires) || sig !== sign(url.pathname, expires)) throw denied()
    if (Date.now() / 1000 > expires) throw denied()
    const obj = cdnObjects.get(url.pathname)
    if (!obj)
      throw new HttpError(404, '<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code></Error>', { xml: true, headers: xc })
    const fault = takeStatusFault('cdn', obj.repoKey, obj.path)
    if (fault) throw statusFaultError(fault, 'cdn')
    const disposition = url.searchParams.get('response-content-disposition')
    await serveBytes(req, res, entry, {
      abs: obj.abs,
      size: obj.size,
      etag: `"${obj.sha256}"`,
      where: 'cdn',
      repoKey: obj.repoKey,
      path: obj.path,
      lastModified: obj.lastModified,
      headers: {
        ...xc,
        'Content-Type': 'binary/octet-stream',
        'Cache-Control': 'public, max-age=604800, immutable',
        ...(disposition ? { 'Content-Disposition': disposition } : {}),
      },
    })
  }

  /** @param {'hub' | 'cdn'} host @param {(req: any, res: any, entry: any) => Promise<void>} handler */
  function makeServer(host, handler) {
    const server = createServer((req, res) => {
      /** @type {import('./hub-emulator.d.mts').RequestLog} */
      const entry = {
        method: req.method ?? 'GET',
        host,
        path: req.url ?? '/',
        range: req.headers.range,
        authorization: req.headers.authorization !== undefined,
        status: 0,
        bytes: 0,
        cut: false,
      }
      requests.push(entry)
      const writeHead = res.writeHead
      res.writeHead = function (status, ...rest) {
        entry.status = status
        return writeHead.call(this, status, ...rest)
      }
      if (host === 'hub') res.setHeader('X-Request-Id', requestId())
      else res.setHeader('X-Amz-Cf-Id', randomBytes(20).toString('base64url'))
      handler(req, res, entry).catch((err) => {
        if (err instanceof HttpError) sendError(res, err)
        else {
          if (!res.headersSent)
            sendError(
              res,
              new HttpError(500, `Internal Error - We're working hard to fix this as soon as possible! (${String(err?.message ?? err)})`),
            )
          else res.destroy()
        }
      })
    })
    server.keepAliveTimeout = 5000
    return server
  }

  const hubServer = makeServer('hub', hubHandler)
  const cdnServer = makeServer('cdn', cdnHandler)
  const listen = (srv, port) =>
    new Promise((resolve, reject) => {
      srv.once('error', reject)
      srv.listen(port ?? 0, host, () => resolve(/** @type {any} */ (srv.address()).port))
    })
  const hubPort = await listen(hubServer, opts.port)
  const cdnPort = await listen(cdnServer, opts.cdnPort)
  const urlHost = host.includes(':') ? `[${host}]` : host
  const hubUrl = `http://${urlHost}:${hubPort}`
  const cdnUrl = `http://${urlHost}:${cdnPort}`

  return {
    url: hubUrl,
    cdnUrl,
    requests,
    setFaults(f) {
      faults = normalizeFaults(f)
    },
    async stop() {
      const close = (srv) =>
        new Promise((resolve) => {
          srv.close(() => resolve(undefined))
          srv.closeAllConnections()
        })
      await Promise.all([close(hubServer), close(cdnServer)])
      await cache.flushAll()
    },
  }
}
