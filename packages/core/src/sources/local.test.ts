import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ComponentContext } from '../contract/context.js'
import { silentLogger } from '../contract/context.js'
import type { ModelFile } from '../contract/model-file.js'
import { configFor } from '../contract/config.js'
import { FILE_READ_BYTES } from '../streams/external-memory.js'
import { localSource } from './local.js'

let dir: string
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mc-local-'))
})
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true })
})

const ctx = (): ComponentContext => ({
  type: 'local',
  logger: silentLogger,
  signal: new AbortController().signal,
  concurrency: 2,
  baseDir: dir,
  env: {},
  fetch: globalThis.fetch,
  emit() {},
  secret() {},
})

async function list(config: { path: string; include?: string[]; exclude?: string[]; into?: string }): Promise<ModelFile[]> {
  const src = await localSource.create(configFor(localSource, config), ctx())
  const out: ModelFile[] = []
  for await (const f of src.list()) out.push(f)
  return out
}

async function read(f: ModelFile): Promise<string> {
  const parts: Buffer[] = []
  for await (const c of (await f.open()) as AsyncIterable<Uint8Array>) parts.push(Buffer.from(c))
  return Buffer.concat(parts).toString()
}

async function write(rel: string, body: string, mode = 0o644) {
  await fs.mkdir(path.dirname(path.join(dir, rel)), { recursive: true })
  await fs.writeFile(path.join(dir, rel), body, { mode })
}

describe('local source', () => {
  it('lists a folder in a stable order, with sizes and executable bits, skipping .git', async () => {
    await write('m/b.bin', 'bb')
    await write('m/a/run.sh', '#!', 0o755)
    await write('m/.git/objects/x', 'git')
    const files = await list({ path: 'm', exclude: ['.git/**', '**/.git/**'] })
    expect(files.map((f) => [f.path, f.size, (f.mode ?? 0) & 0o111 ? 'x' : '-'])).toEqual([
      ['a/run.sh', 2, 'x'],
      ['b.bin', 2, '-'],
    ])
  })

  it('a single file lands under its name, in `into` when given', async () => {
    await write('w.safetensors', 'w')
    expect((await list({ path: 'w.safetensors', into: 'weights' })).map((f) => f.path)).toEqual(['weights/w.safetensors'])
  })

  it('include globs without a slash match file names in any folder', async () => {
    await write('m/config.json', '{}')
    await write('m/tok/vocab.json', '{}')
    await write('m/w.bin', 'x')
    expect((await list({ path: 'm', include: ['*.json'] })).map((f) => f.path)).toEqual(['config.json', 'tok/vocab.json'])
    await expect(list({ path: 'm', include: ['*.json', '*.safetensors'] })).rejects.toMatchObject({
      code: 'SOURCE_NOTHING_MATCHED',
      message: expect.stringContaining('*.safetensors'),
    })
  })

  it('follows links like a Hugging Face cache snapshot: own path, target bytes', async () => {
    await write('hub/blobs/abc123', 'weights!')
    await fs.mkdir(path.join(dir, 'hub/snapshots/sha/sub'), { recursive: true })
    await fs.symlink('../../blobs/abc123', path.join(dir, 'hub/snapshots/sha/model.bin'))
    await fs.symlink('../../../blobs/abc123', path.join(dir, 'hub/snapshots/sha/sub/copy.bin'))
    const files = await list({ path: 'hub/snapshots/sha' })
    expect(files.map((f) => [f.path, f.size])).toEqual([
      ['model.bin', 8],
      ['sub/copy.bin', 8],
    ])
    expect(await read(files[0]!)).toBe('weights!')
  })

  it('a dangling link is an error naming it', async () => {
    await write('m/ok', 'x')
    await fs.symlink('nowhere', path.join(dir, 'm/broken'))
    await expect(list({ path: 'm' })).rejects.toMatchObject({
      code: 'SOURCE_LINK_BROKEN',
      message: expect.stringMatching(/m\/broken.*dangling/),
    })
  })

  it('a link loop is an error naming it', async () => {
    await write('m/ok', 'x')
    await fs.symlink('..', path.join(dir, 'm/up'))
    await expect(list({ path: 'm' })).rejects.toMatchObject({ code: 'SOURCE_LINK_BROKEN', message: expect.stringContaining('loops') })
    await fs.rm(path.join(dir, 'm/up'))
    await fs.symlink('self', path.join(dir, 'm/self'))
    await expect(list({ path: 'm' })).rejects.toMatchObject({ code: 'SOURCE_LINK_BROKEN', message: expect.stringContaining('loops') })
  })

  it('a missing path is an input error with a hint', async () => {
    await expect(list({ path: 'nope' })).rejects.toMatchObject({ code: 'SOURCE_PATH_MISSING', input: true })
  })

  it('open({ start }) resumes at an offset', async () => {
    await write('f.bin', '0123456789')
    const [f] = await list({ path: 'f.bin' })
    const parts: Buffer[] = []
    for await (const c of (await f!.open({ start: 4 })) as AsyncIterable<Uint8Array>) parts.push(Buffer.from(c))
    expect(Buffer.concat(parts).toString()).toBe('456789')
  })

  it('reads in FILE_READ_BYTES pieces: larger reads set off V8 major collections (see external-memory.ts)', async () => {
    const bytes = Buffer.alloc(3 * FILE_READ_BYTES + 5, 7)
    await fs.writeFile(path.join(dir, 'big.bin'), bytes)
    const [f] = await list({ path: 'big.bin' })
    const sizes: number[] = []
    for await (const c of (await f!.open()) as AsyncIterable<Uint8Array>) sizes.push(c.byteLength)
    expect(sizes).toEqual([FILE_READ_BYTES, FILE_READ_BYTES, FILE_READ_BYTES, 5])
  })
})
