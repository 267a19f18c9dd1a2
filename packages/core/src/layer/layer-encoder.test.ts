import { createHash } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import zlib from 'node:zlib'
import { describe, expect, it } from 'vitest'
import tar from 'tar-stream'
import { encodeLayer, parentDirectories, type LayerFileEntry } from './layer-encoder.js'

function entry(name: string, body: string | Buffer, executable = false): LayerFileEntry {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body)
  return {
    name,
    size: bytes.length,
    executable,
    async *read() {
      yield bytes
    },
  }
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const c of it) parts.push(Buffer.from(c))
  return Buffer.concat(parts)
}

async function readTar(buf: Buffer): Promise<tar.Header[]> {
  const ex = tar.extract()
  const headers: tar.Header[] = []
  const done = (async () => {
    for await (const e of ex) {
      headers.push(e.header)
      e.resume()
    }
  })()
  ex.end(buf)
  await done
  return headers
}

describe('parentDirectories', () => {
  it('lists each parent once, outermost first', () => {
    expect(parentDirectories(['models/a/b.bin', 'models/a/c/d', 'models/x'])).toEqual(['models/', 'models/a/', 'models/a/c/'])
  })
})

describe('encodeLayer', () => {
  it('writes deterministic headers, parents, and digests that match the bytes', async () => {
    const entries = [entry('models/config.json', '{"a":1}'), entry('models/sub/run.sh', '#!/bin/sh\n', true)]
    const a = encodeLayer(entries)
    const bytes = await collect(a.chunks)
    const layer = await a.result
    expect(layer.digest).toBe(`sha256:${createHash('sha256').update(bytes).digest('hex')}`)
    expect(layer.diffId).toBe(layer.digest)
    expect(layer.size).toBe(bytes.length)
    const headers = await readTar(bytes)
    expect(headers.map((h) => [h.name, h.type, h.mode, h.uid, h.gid, h.uname, h.gname, h.mtime?.getTime()])).toEqual([
      ['models/', 'directory', 0o755, 0, 0, '', '', 0],
      ['models/sub/', 'directory', 0o755, 0, 0, '', '', 0],
      ['models/config.json', 'file', 0o644, 0, 0, '', '', 0],
      ['models/sub/run.sh', 'file', 0o755, 0, 0, '', '', 0],
    ])
    const again = encodeLayer(entries)
    await collect(again.chunks)
    expect((await again.result).digest).toBe(layer.digest)
  })

  it('uses SOURCE_DATE_EPOCH-style mtime when given', async () => {
    const enc = encodeLayer([entry('models/a', 'x')], { mtime: 1700000000 })
    const headers = await readTar(await collect(enc.chunks))
    expect(headers.every((h) => h.mtime?.getTime() === 1700000000 * 1000)).toBe(true)
  })

  it('gzip: digest covers the compressed blob, diff_id the tar', async () => {
    const enc = encodeLayer([entry('models/README.md', '# card\n'.repeat(100))], { compression: 'gzip' })
    const blob = await collect(enc.chunks)
    const layer = await enc.result
    expect(layer.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip')
    expect(layer.digest).toBe(`sha256:${createHash('sha256').update(blob).digest('hex')}`)
    const tarBytes = zlib.gunzipSync(blob)
    expect(layer.diffId).toBe(`sha256:${createHash('sha256').update(tarBytes).digest('hex')}`)
    expect(layer.digest).not.toBe(layer.diffId)
  })

  it('long and non-ASCII names survive a GNU tar round trip', async () => {
    const long = `models/${'a'.repeat(120)}/${'b'.repeat(110)}.safetensors`
    const enc = encodeLayer([entry(long, 'x'), entry('models/模型/权重.bin', 'y')])
    const bytes = await collect(enc.chunks)
    const dir = mkdtempSync(join(tmpdir(), 'mc-tar-'))
    try {
      writeFileSync(join(dir, 'l.tar'), bytes)
      const listing = execFileSync('tar', ['-tf', join(dir, 'l.tar')], { encoding: 'utf8' }).split('\n')
      expect(listing).toContain(long)
      expect(listing).toContain('models/模型/权重.bin')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('sizes of 8 GiB and more: GNU tar and Python read the header (base-256 and PAX size)', async () => {
    const size = 8 * 1024 ** 3 + 1
    const zeros = Buffer.alloc(1 << 20)
    const huge: LayerFileEntry = {
      name: 'models/huge.safetensors',
      size,
      async *read() {
        for (let left = size; left > 0; left -= zeros.length) yield left >= zeros.length ? zeros : zeros.subarray(0, left)
      },
    }
    // Only the first blocks are needed: the headers; the body is never produced in full.
    const head: Buffer[] = []
    let got = 0
    for await (const c of encodeLayer([huge]).chunks) {
      head.push(Buffer.from(c))
      got += c.byteLength
      if (got >= 8192) break
    }
    const dir = mkdtempSync(join(tmpdir(), 'mc-tar-'))
    try {
      const file = join(dir, 'head.tar')
      writeFileSync(file, Buffer.concat(head))
      let listing = ''
      try {
        listing = execFileSync('tar', ['-tvf', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      } catch (err) {
        listing = String((err as { stdout?: string }).stdout) // tar exits 2 at the cut; the listing came first
      }
      expect(listing).toMatch(new RegExp(`${size}\\s.*models/huge\\.safetensors`))
      const py = execFileSync(
        'python3',
        ['-c', 'import sys,tarfile; it=iter(tarfile.open(sys.argv[1], mode="r|")); next(it); m=next(it); print(m.name, m.size)', file],
        { encoding: 'utf8' },
      )
      expect(py).toContain(`models/huge.safetensors ${size}`)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a failing reader fails the layer', async () => {
    const bad: LayerFileEntry = {
      name: 'models/bad',
      size: 10,
      async *read() {
        yield Buffer.from('12345')
        throw new Error('disk on fire')
      },
    }
    const enc = encodeLayer([bad])
    await expect(collect(enc.chunks)).rejects.toThrow('disk on fire')
    await expect(enc.result).rejects.toThrow('disk on fire')
  })
})
