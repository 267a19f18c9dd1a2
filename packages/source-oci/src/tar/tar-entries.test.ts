import { execFileSync } from 'node:child_process'
import { mkdir, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import tar from 'tar-stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isModelcarError } from '@modelcar/core'
import { tempDir, type TempDir } from '../../../../tools/harness/temp.js'
import { membersOf } from '../listing/member-paths.js'
import { tarEntries, type TarEntry } from './tar-entries.js'
import { rangeInput, streamInput } from './tar-inputs.js'

type Entry = Parameters<ReturnType<typeof tar.pack>['entry']>[0]

async function tarOf(entries: [Entry, (Buffer | string)?][]): Promise<Buffer> {
  const pack = tar.pack()
  for (const [header, body] of entries) {
    if (body === undefined) pack.entry(header)
    else pack.entry(header, body)
  }
  pack.finalize()
  const chunks: Buffer[] = []
  for await (const c of pack) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}

/** The members read both ways: by ranges (a listing) and as a stream in small pieces (a read); both must agree. */
async function members(bytes: Buffer): Promise<TarEntry[]> {
  const byRange: TarEntry[] = []
  for await (const e of tarEntries(
    rangeInput(async (s, e) => bytes.subarray(s, e), bytes.length, 700),
    'test',
  ))
    byRange.push(e)
  const byStream: TarEntry[] = []
  const pieces = (async function* () {
    for (let i = 0; i < bytes.length; i += 333) yield bytes.subarray(i, i + 333)
  })()
  for await (const e of tarEntries(streamInput(pieces), 'test')) byStream.push(e)
  expect(byStream).toEqual(byRange)
  return byRange
}

async function failure(bytes: Buffer): Promise<unknown> {
  try {
    await members(bytes)
  } catch (err) {
    return err
  }
  throw new Error('the archive was read without complaint')
}

let tmp: TempDir
beforeAll(async () => {
  tmp = await tempDir('mc-oci-tar')
})
afterAll(() => tmp?.cleanup())

describe('tar members', () => {
  it('reads names, sizes, modes and data offsets, PAX long and non-ASCII names included', async () => {
    const long = `${'dir/'.repeat(40)}file-${'x'.repeat(120)}.bin`
    const bytes = await tarOf([
      [{ name: 'a/', type: 'directory', mode: 0o755 }],
      [{ name: 'a/one.txt', mode: 0o644 }, 'hello'],
      [{ name: long, mode: 0o755 }, Buffer.alloc(1000, 7)],
      [{ name: 'ünï.json', mode: 0o600 }, '{}'],
    ])
    const got = await members(bytes)
    expect(got.map((e) => [e.name, e.type, e.size, e.mode])).toEqual([
      ['a/', 'dir', 0, 0o755],
      ['a/one.txt', 'file', 5, 0o644],
      [long, 'file', 1000, 0o755],
      ['ünï.json', 'file', 2, 0o600],
    ])
    for (const e of got.filter((m) => m.type === 'file')) {
      const data = bytes.subarray(e.dataOffset, e.dataOffset + e.size)
      expect(data.toString('latin1').length).toBe(e.size)
    }
    expect(bytes.subarray(got[1]!.dataOffset, got[1]!.dataOffset + 5).toString()).toBe('hello')
  })

  it("reads GNU tar's own format: long names and links in ././@LongLink members, base-256 sizes", async () => {
    const root = join(tmp.path, 'gnu')
    const name = `${'n'.repeat(150)}.safetensors`
    await mkdir(join(root, 'm'), { recursive: true })
    await writeFile(join(root, 'm', name), 'weights')
    await symlink(name, join(root, 'm', 'link'))
    const bytes = execFileSync('tar', ['--format=gnu', '--sort=name', '-C', root, '-cf', '-', 'm'])
    const got = await members(bytes)
    expect(got.map((e) => [e.name, e.type, e.size, e.linkname])).toEqual([
      ['m/', 'dir', 0, ''],
      ['m/link', 'symlink', 0, name],
      [`m/${name}`, 'file', 7, ''],
    ])
    // A size in base-256, as GNU tar writes one of 8 GiB and more (here: the same 7 bytes).
    const header = Buffer.from(bytes)
    const at = got[2]!.dataOffset - 512
    header.fill(0, at + 124, at + 136)
    header[at + 124] = 0x80
    header[at + 135] = 7
    const sum = [...header.subarray(at, at + 512)].reduce((n, b, i) => n + (i >= 148 && i < 156 ? 32 : b), 0)
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, at + 148, 'latin1')
    expect((await members(header))[2]!.size).toBe(7)
  })

  it('refuses what is no tar, a member cut short, and sparse files', async () => {
    const bytes = await tarOf([[{ name: 'f.bin' }, Buffer.alloc(2000, 1)]])
    const broken = Buffer.from(bytes)
    broken[10] = broken[10]! ^ 0xff
    for (const [b, message] of [
      [broken, /wrong checksum/],
      [bytes.subarray(0, 1500), /ends inside `f\.bin`/],
      [Buffer.concat([Buffer.from('not a tar at all'), Buffer.alloc(600, 1)]), /wrong checksum/],
    ] as const) {
      const err = await failure(b)
      expect(isModelcarError(err) && err.code, String(err)).toBe('OCI_TAR_INVALID')
      expect((err as Error).message).toMatch(message)
    }
    const sparse = Buffer.from(bytes)
    sparse[156] = 'S'.charCodeAt(0)
    const sum = [...sparse.subarray(0, 512)].reduce((n, b, i) => n + (i >= 148 && i < 156 ? 32 : b), 0)
    sparse.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1')
    expect(String(await failure(sparse))).toMatch(/GNU sparse member/)
  })
})

describe('paths of a layer', () => {
  const entry = (name: string, type: TarEntry['type'], linkname = '', size = 1): TarEntry => ({
    name,
    type,
    typeflag: { file: '0', dir: '5', hardlink: '1', symlink: '2', other: '3' }[type],
    mode: 0o644,
    size: type === 'file' ? size : 0,
    linkname,
    dataOffset: Math.floor(Math.random() * 1e9),
  })

  it('follows hard and symbolic links to files of the layer, leaves out the rest with a warning, and lets a later member win', () => {
    const warnings: string[] = []
    const weights = entry('./m/w.bin', 'file')
    const newer = entry('m/c.json', 'file')
    const got = membersOf(
      [
        entry('m/', 'dir'),
        weights,
        entry('m/c.json', 'file'),
        newer,
        entry('m/hard', 'hardlink', 'm/w.bin'),
        entry('m/soft', 'symlink', 'sub/../w.bin'),
        entry('m/chain', 'symlink', 'soft'),
        entry('m/dangling', 'symlink', 'nope'),
        entry('m/loop', 'symlink', 'loop'),
        entry('m/dev', 'other'),
      ],
      undefined,
      (m) => warnings.push(m),
    )
    expect(got.map((m) => [m.path, m.member])).toEqual([
      ['m/w.bin', weights],
      ['m/c.json', newer],
      ['m/hard', weights],
      ['m/soft', weights],
      ['m/chain', weights],
    ])
    expect(warnings).toEqual([
      '`m/dangling` is left out: it links to `nope`, which is no file of the layer',
      '`m/loop` is left out: its links loop',
      '`m/dev` is left out: it is not a file (tar type `3`)',
    ])
  })

  it('takes off the folder before the annotated path, only when every file is under it', () => {
    const paths = (names: string[], annotated?: string) =>
      membersOf(
        names.map((n) => entry(n, 'file')),
        annotated,
        () => {},
      ).map((m) => m.path)
    expect(paths(['models/config.json'], 'config.json')).toEqual(['config.json'])
    expect(paths(['models/tok/a.json', 'models/tok/b.json'], 'tok')).toEqual(['tok/a.json', 'tok/b.json'])
    expect(paths(['tok/a.json', 'tok/b.json'], 'tok')).toEqual(['tok/a.json', 'tok/b.json'])
    expect(paths(['models/tok/a.json', 'other/b.json'], 'tok')).toEqual(['models/tok/a.json', 'other/b.json'])
    expect(paths(['x/y.json'], undefined)).toEqual(['x/y.json'])
  })
})
