// The checksums transform against the conformance kit, and in whole runs of the engine (a local
// model into the kit's memory sink): the SHA256SUMS layer holds the sha256 of every file's bytes,
// and a taken name fails with this plugin's own code, named with its type and phase.
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createCoreRegistry, isModelcarError, parseRecipe, runRecipe, type ModelcarError, type Plan } from '@modelcar/core'
import { assertTransformCompliance, kitPlan, memorySink } from '@modelcar/testing'
import checksumsTransform, { ChecksumsError, sha256sums } from './index.js'

const hex = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex')

const dirs: string[] = []
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

/** The kit plan's files and their bytes, as the engine would stream them. */
async function kitFiles(): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>()
  for (const f of kitPlan().files) {
    const chunks: Uint8Array[] = []
    for await (const c of (await f.file.open()) as Iterable<Uint8Array>) chunks.push(c)
    out.set(f.target, Buffer.concat(chunks))
  }
  return out
}

describe('checksums: the conformance kit', () => {
  it('passes, and its SHA256SUMS holds the sha256 of every file, sorted by path', async () => {
    const report = await assertTransformCompliance(
      checksumsTransform,
      {},
      { failing: [{ file: 'config.json' }, { file: '../SHA256SUMS' }, { file: '/etc/SHA256SUMS' }] },
    )
    const sums = Buffer.from(report.derived.get('SHA256SUMS')!).toString('utf8')
    const expected = [...(await kitFiles())]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([path, bytes]) => `${hex(bytes)}  ${path}\n`)
      .join('')
    expect(sums).toBe(expected)
    expect(report.plan.files).toHaveLength(4)
  })

  it('puts the file where `file` says, under the prefix', async () => {
    const report = await assertTransformCompliance(checksumsTransform, { file: './meta/SHA256SUMS' })
    expect([...report.derived.keys()]).toEqual(['meta/SHA256SUMS'])
  })

  it('refuses a name another transform already derives, with its own code', async () => {
    const plan = (): Plan => ({ ...kitPlan(), derived: [{ target: 'SHA256SUMS', source: 'other', build: () => '' }] })
    const instance = await checksumsTransform.create({ file: 'SHA256SUMS' }, {} as never)
    const err = await Promise.resolve()
      .then(() => instance.apply(plan()))
      .catch((e: unknown) => e)
    expect(isModelcarError(err) && err.code).toBe(ChecksumsError.targetTaken)
    expect((err as ModelcarError).message).toBe('`SHA256SUMS` is already in the image: the derived file of `other`')
    expect((err as ModelcarError).input).toBe(true)
  })

  it('escapes a path with a backslash or a line break as sha256sum does', () => {
    const digest = `sha256:${'ab'.repeat(32)}`
    expect(
      sha256sums([
        { target: 'b\\c.txt', size: 1, digest },
        { target: 'a\nb', size: 1, digest },
        { target: 'plain.json', size: 1, digest },
      ]),
    ).toBe(`\\${'ab'.repeat(32)}  a\\nb\n\\${'ab'.repeat(32)}  b\\\\c.txt\n${'ab'.repeat(32)}  plain.json\n`)
  })
})

/** The entries of an uncompressed tar: name and content (ustar headers; the layer encoder's names here are short). */
function tarEntries(tar: Uint8Array): Map<string, Buffer> {
  const buf = Buffer.from(tar)
  const out = new Map<string, Buffer>()
  for (let off = 0; off + 512 <= buf.length;) {
    const header = buf.subarray(off, off + 512)
    if (header.every((b) => b === 0)) break
    const field = (start: number, len: number) =>
      header
        .subarray(start, start + len)
        .toString('utf8')
        .replace(/\0.*$/s, '')
    const name = [field(345, 155), field(0, 100)].filter(Boolean).join('/')
    const size = parseInt(field(124, 12).trim() || '0', 8)
    out.set(name, buf.subarray(off + 512, off + 512 + size))
    off += 512 + Math.ceil(size / 512) * 512
  }
  return out
}

async function modelDir(files: Record<string, string | Buffer>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'modelcar-checksums-'))
  dirs.push(dir)
  for (const [path, bytes] of Object.entries(files)) {
    await mkdir(join(dir, 'model', dirname(path)), { recursive: true })
    await writeFile(join(dir, 'model', path), bytes)
  }
  return dir
}

async function run(dir: string, transform: string) {
  const sink = memorySink()
  const text = [
    'apiVersion: modelcar/v1',
    'sources:',
    '  - type: local',
    '    path: ./model',
    'transforms:',
    transform,
    'sinks:',
    '  - type: memory',
    '',
  ].join('\n')
  const recipe = await parseRecipe(text, join(dir, 'recipe.yaml'), {
    registry: createCoreRegistry().register(checksumsTransform).register(sink),
  })
  return { sink, result: await runRecipe(recipe) }
}

describe('checksums: a run of the engine', () => {
  it('adds a last layer holding SHA256SUMS of every model file', async () => {
    const files = {
      'config.json': '{"hidden_size":8}\n',
      'model.safetensors': Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 256)),
      'tokenizer/vocab.json': '{"a":0}\n',
    }
    const { sink, result } = await run(await modelDir(files), '  - type: checksums')
    const image = sink.store.images.get('latest')!
    expect(image.root.digest).toBe(result.digest)
    const manifest = JSON.parse(sink.store.text(image.root.digest)) as {
      layers: { digest: string; annotations?: Record<string, string> }[]
    }
    const titles = manifest.layers.map((l) => l.annotations?.['org.opencontainers.image.title'])
    expect(titles).toEqual(['config.json', 'model.safetensors', 'tokenizer/vocab.json', 'SHA256SUMS'])
    expect(result.layers.at(-1)).toMatchObject({ title: '/models/SHA256SUMS', derived: true })

    const sums = tarEntries(sink.store.blobs.get(manifest.layers.at(-1)!.digest)!)
      .get('models/SHA256SUMS')!
      .toString('utf8')
    expect(sums).toBe(
      Object.entries(files)
        .map(([path, bytes]) => `${hex(bytes)}  ${path}\n`)
        .join(''),
    )
  })

  it('fails with CHECKSUMS_TARGET_TAKEN, named with its type and phase, when the model has the file', async () => {
    const dir = await modelDir({ 'config.json': '{}', SHA256SUMS: 'theirs' })
    const err = await run(dir, '  - type: checksums').catch((e: unknown) => e)
    expect(isModelcarError(err)).toBe(true)
    const e = err as ModelcarError
    expect(e.code).toBe('CHECKSUMS_TARGET_TAKEN')
    expect([e.component, e.phase, e.input]).toEqual(['checksums', 'apply', true])
    expect(e.message).toBe('[checksums] apply failed: `SHA256SUMS` is already in the image: a model file from `local`')
    expect(e.hint).toContain('set `file:`')
  })

  it('takes another name in the recipe', async () => {
    const dir = await modelDir({ 'config.json': '{}', SHA256SUMS: 'theirs' })
    const { result } = await run(dir, '  - type: checksums\n    file: SHA256SUMS.modelcar')
    expect(result.layers.map((l) => l.title).at(-1)).toBe('/models/SHA256SUMS.modelcar')
  })

  it('refuses a file outside the prefix when the run starts, with its own code', async () => {
    const dir = await modelDir({ 'config.json': '{}' })
    const err = (await run(dir, '  - type: checksums\n    file: ../SHA256SUMS').catch((e: unknown) => e)) as ModelcarError
    expect([err.code, err.component, err.phase]).toEqual(['CHECKSUMS_FILE_INVALID', 'checksums', 'create'])
    expect(err.message).toBe('[checksums] create failed: `file: ../SHA256SUMS` is not a path inside the image prefix')
  })
})
