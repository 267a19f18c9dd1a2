// The kit's sink rules against the in-memory sink, the official `oci-layout` sink, a small folder
// sink, and copies of those with one defect each: every defect must be caught, with a message that
// names the rule, and the correct sinks must pass.
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, describe, expect, it } from 'vitest'
import {
  configFor,
  createCoreRegistry,
  defineSink,
  defineSource,
  ociLayoutSink,
  parseRecipe,
  runRecipe,
  sha256Digest,
  Type,
  type BlobHint,
  type Descriptor,
  type SinkComponent,
} from '@modelcar/core'
import { memorySink, type MemoryStore } from './memory-sink.js'
import { assertSinkCompliance } from './sink-compliance.js'
import { testContext } from './test-context.js'

const dirs: string[] = []
let closed = false
afterAll(async () => {
  closed = true
  // maxRetries: a folder sink left waiting for its lock may write once more as the folder goes.
  for (const d of dirs) await rm(d, { recursive: true, force: true, maxRetries: 3 })
})
const temp = async () => {
  const d = await mkdtemp(join(tmpdir(), 'modelcar-sink-kit-'))
  dirs.push(d)
  return d
}

/** Every file and folder under `root`, relative to it. */
async function listTree(root: string): Promise<string[]> {
  const out: string[] = []
  const walk = async (dir: string) => {
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      out.push(relative(root, join(dir, e.name)))
      if (e.isDirectory()) await walk(join(dir, e.name))
    }
  }
  await walk(root)
  return out
}

interface Defects {
  /** A blob writer's abort() closes the temporary file but leaves it. */
  blobAbortLeavesTmp?: boolean
  /** The run's abort() leaves the blobs it staged. */
  runAbortLeavesStaged?: boolean
  /** commit() does not check that the image's blobs are there. */
  laxCommit?: boolean
  /** prepare() takes the folder's lock and commit() never gives it back. */
  keepsLock?: boolean
}

/**
 * Sink `folder`: blobs under `blobs/`, written to `tmp/`, staged in `staged/` until the run
 * commits, the tag in `tags/`; one run at a time (a lock file). Correct unless given defects.
 */
function folderSink(defects: Defects = {}) {
  return defineSink({
    type: 'folder',
    description: 'Blobs and tags in a folder (a test sink).',
    schema: Type.Object({ path: Type.String({ description: 'The folder.' }) }, { additionalProperties: false }),
    create(config) {
      const at = (...p: string[]) => join(config.path, ...p)
      const staged = new Set<string>()
      const holds = async (d: { digest: string; size: number }) => {
        const hex = d.digest.slice('sha256:'.length)
        const st = await stat(staged.has(d.digest) ? at('staged', hex) : at('blobs', hex)).catch(() => undefined)
        return st?.size === d.size
      }
      const unlock = () => rm(at('lock'), { force: true })
      return {
        target: `folder:${config.path}`,
        async prepare() {
          for (const d of ['blobs', 'tmp', 'staged', 'tags']) await mkdir(at(d), { recursive: true })
          // Waits for the lock as a real sink would; a lock never given back makes this wait forever.
          while (
            !(await writeFile(at('lock'), `${process.pid}`, { flag: 'wx' }).then(
              () => true,
              () => false,
            ))
          ) {
            if (closed) throw new Error('test over')
            await sleep(20)
          }
        },
        has: holds,
        async openBlob(hint: BlobHint) {
          const tmp = at('tmp', randomBytes(6).toString('hex'))
          const file = await open(tmp, 'w')
          const hash = createHash('sha256')
          let size = 0
          return {
            async write(chunk: Uint8Array) {
              hash.update(chunk)
              size += chunk.byteLength
              await file.write(chunk)
            },
            async commit(expected: { digest: string; size: number }) {
              await file.close()
              const digest = `sha256:${hash.digest('hex')}`
              if ((hint.verify && digest !== expected.digest) || size !== expected.size) {
                await rm(tmp, { force: true })
                throw new Error(`blob is ${digest} (${size} bytes), expected ${expected.digest}`)
              }
              await rename(tmp, at('staged', expected.digest.slice('sha256:'.length)))
              staged.add(expected.digest)
            },
            async abort() {
              await file.close().catch(() => {})
              if (!defects.blobAbortLeavesTmp) await rm(tmp, { force: true })
            },
          }
        },
        async commit(image) {
          const needed = [...image.baseBlobs, ...image.images.flatMap((i) => i.layers)]
          for (const d of defects.laxCommit ? [] : needed) if (!(await holds(d))) throw new Error(`blob ${d.digest} is missing`)
          for (const digest of staged) await rename(at('staged', digest.slice(7)), at('blobs', digest.slice(7)))
          staged.clear()
          for (const doc of image.documents) await writeFile(at('blobs', doc.descriptor.digest.slice(7)), doc.bytes)
          await writeFile(at('tags', 'latest'), image.root.digest)
          if (!defects.keepsLock) await unlock()
          return { ref: `folder:${config.path}:latest`, digest: image.root.digest }
        },
        async abort() {
          if (!defects.runAbortLeavesStaged) for (const digest of staged) await rm(at('staged', digest.slice(7)), { force: true })
          staged.clear()
          await unlock()
        },
      }
    },
  })
}

async function folderKit(defects: Defects, opts: { stepTimeoutMs?: number } = {}) {
  const dir = join(await temp(), 'target')
  return assertSinkCompliance(folderSink(defects), { path: dir }, { listTarget: () => listTree(dir), ...opts })
}

describe('assertSinkCompliance', () => {
  it('passes the memory sink, which then holds the image and no open writer', async () => {
    const sink = memorySink()
    const report = await assertSinkCompliance(sink, {}, { listTarget: async () => sink.store.list() })
    expect(sink.store.images.get('latest')?.root.digest).toBe(report.image.root.digest)
    expect(sink.store.open).toBe(0)
    expect(report.checks).toEqual([
      'heldLayers() lists nothing on an empty target',
      'a blob with the wrong digest is refused, and leaves nothing',
      'an aborted blob leaves nothing',
      'commit() returns the image digest',
      'has() sees every layer and document after commit',
      "heldLayers() of a new instance lists the committed image's layers with their annotations",
      'a re-run sees the blobs and commits the same digest',
      'commit() refuses an image whose layer was never written',
      'abort() leaves nothing of the failed run and keeps what was committed',
      'reads nothing from process.env (ctx.env only)',
    ])
  })

  it('passes the official oci-layout sink, its folder listed before and after every abort', async () => {
    const dir = await temp()
    const out = join(dir, 'out')
    const report = await assertSinkCompliance(
      ociLayoutSink,
      { path: out },
      { context: () => testContext({ type: 'oci-layout', baseDir: dir }), listTarget: () => listTree(out) },
    )
    expect(await readdir(out)).toEqual(expect.arrayContaining(['index.json', 'oci-layout', 'blobs']))
    expect(JSON.parse(await readFile(join(out, 'index.json'), 'utf8')).manifests[0].digest).toBe(report.image.root.digest)
    expect(report.checks).toContain("heldLayers() of a new instance lists the committed image's layers with their annotations")
  })

  it('passes a correct folder sink, and checks no heldLayers() rule of a sink without one', async () => {
    const report = await folderKit({})
    expect(report.checks).toContain('abort() leaves nothing of the failed run and keeps what was committed')
    expect(report.checks.filter((c) => c.startsWith('heldLayers()'))).toEqual([])
  })

  it('catches a blob abort() that leaves its temporary file', async () => {
    await expect(folderKit({ blobAbortLeavesTmp: true })).rejects.toThrow(
      /\[folder\] not compliant: abort\(\) of a blob changed the target: left `tmp\/[0-9a-f]{12}`/,
    )
  })

  it('catches a run abort() that leaves the blobs it staged', async () => {
    await expect(folderKit({ runAbortLeavesStaged: true })).rejects.toThrow(
      /\[folder\] not compliant: abort\(\) of a run changed the target: left `staged\/[0-9a-f]{64}`/,
    )
  })

  it('catches a commit() that does not check that the image’s blobs are there', async () => {
    await expect(folderKit({ laxCommit: true })).rejects.toThrow(
      /\[folder\] not compliant: commit\(\) accepted an image whose layer `sha256:[0-9a-f]{64}` was never written: it must refuse an image whose blobs it does not hold/,
    )
  })

  it('catches a lock never released: the step that waits for it fails with its likely cause, not a test timeout', async () => {
    const started = Date.now()
    await expect(folderKit({ keepsLock: true }, { stepTimeoutMs: 300 })).rejects.toThrow(
      /\[folder\] not compliant: prepare\(\) on a re-run did not settle within 300 ms: is a lock \(or session\) taken by an earlier prepare\(\) never released\? commit\(\) and abort\(\) must release what prepare\(\) took/,
    )
    expect(Date.now() - started).toBeLessThan(10_000)
  })

  it('catches a sink that accepts any digest', async () => {
    const lax = memorySink()
    const broken: SinkComponent = {
      ...lax,
      create: async (config, ctx) => {
        const inner = await lax.create(config as never, ctx)
        return { ...inner, openBlob: async (hint) => ({ ...(await inner.openBlob(hint)), commit: async () => {} }) }
      },
    }
    await expect(assertSinkCompliance(broken, {})).rejects.toThrow(
      /\[memory\] not compliant: a blob committed \(verify: true\) under a digest its bytes do not have was accepted/,
    )
  })

  it('catches a sink whose commit() reports another digest', async () => {
    const base = memorySink()
    const broken: SinkComponent = {
      ...base,
      create: async (config, ctx) => {
        const inner = await base.create(config as never, ctx)
        return { ...inner, commit: async (image) => ({ ...(await inner.commit(image)), digest: 'sha256:0' }) }
      },
    }
    await expect(assertSinkCompliance(broken, {})).rejects.toThrow(/commit\(\) returned digest `sha256:0`/)
  })

  it('streams a blob again when commit() answers { streamAgain }, with its digest and size known', async () => {
    const inner = memorySink()
    const hints: BlobHint[] = []
    // Takes a blob only when its digest is known up front, as a registry that takes whole blobs.
    const wholeOnly: SinkComponent = {
      ...inner,
      create: async (config, ctx) => {
        const sink = await inner.create(config as never, ctx)
        return {
          ...sink,
          openBlob: async (hint) => {
            hints.push(hint)
            const writer = await sink.openBlob(hint)
            if (hint.digest) return writer
            return { ...writer, commit: async () => (await writer.abort(), { streamAgain: 'needs the digest first' }) }
          },
        }
      },
    }
    const report = await assertSinkCompliance(wholeOnly, {}, { listTarget: async () => inner.store.list() })
    expect(report.checks).toContain('a blob is taken once streamed again on { streamAgain }')
    const again = hints.filter((h) => h.attempt === 2)
    expect(again.length).toBeGreaterThan(0)
    for (const h of again) expect(h).toMatchObject({ digest: expect.stringMatching(/^sha256:/), size: expect.any(Number) })
    expect(inner.store.open).toBe(0)
  })

  it('catches a sink that answers { streamAgain } for ever', async () => {
    const inner = memorySink()
    const never: SinkComponent = {
      ...inner,
      create: async (config, ctx) => {
        const sink = await inner.create(config as never, ctx)
        return {
          ...sink,
          openBlob: async () => ({ write: async () => {}, abort: async () => {}, commit: async () => ({ streamAgain: 'not yet' }) }),
        }
      },
    }
    await expect(assertSinkCompliance(never, {})).rejects.toThrow(
      /asked for the blob again 3 times \(not yet\); the engine gives up after 2/,
    )
  })

  it('catches a sink that reads process.env, and lets a library read the variables it is allowed', async () => {
    const envy = (): SinkComponent => {
      const inner = memorySink()
      return {
        ...inner,
        create: async (config, ctx) => {
          // What a component must not do: its environment is ctx.env.
          void process.env.MEMORY_SINK_QUOTA
          return inner.create(config as never, ctx)
        },
      }
    }
    await expect(assertSinkCompliance(envy(), {})).rejects.toThrow(/\[memory\] not compliant: read `MEMORY_SINK_QUOTA` from process.env/)
    await assertSinkCompliance(envy(), {}, { allowEnv: ['MEMORY_SINK_*'] })
  })
})

/** The memory sink with its heldLayers() replaced: `held(inner, store)` gives the answer. */
function heldBy(held: (inner: () => Promise<Descriptor[]>, store: MemoryStore) => Promise<unknown>): SinkComponent {
  const base = memorySink()
  return {
    ...base,
    create: async (config, ctx) => {
      const inner = await base.create(config as never, ctx)
      return { ...inner, heldLayers: () => held(() => inner.heldLayers!(), base.store) as Promise<Descriptor[]> }
    },
  }
}

describe('assertSinkCompliance: heldLayers()', () => {
  it('passes the memory sink, whose heldLayers() gives the layers of the image at its tag with their annotations', async () => {
    const sink = memorySink()
    const report = await assertSinkCompliance(sink, {})
    const held = await (await sink.create(configFor(sink, {}), testContext())).heldLayers!()
    const layers = report.image.images.flatMap((i) => i.layers)
    expect(held).toEqual(layers)
    expect(held[0]!.annotations).toMatchObject({
      'modelcar.layer.encoding': expect.stringMatching(/^tar;/),
      'modelcar.file.size': expect.stringMatching(/^\d+$/),
      'modelcar.content.digest': expect.stringMatching(/^sha256:/),
    })
  })

  it.each<[string, Parameters<typeof heldBy>[0], RegExp]>([
    [
      'a sink that lists layers on an empty target',
      async () => [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256Digest('left over'), size: 9 }],
      /\[memory\] not compliant: heldLayers\(\) on an empty target lists 1 layer\(s\) \(`sha256:[0-9a-f]{64}`, …\): a target that holds no image holds no layers; return \[\]/,
    ],
    [
      'a sink that never finds the image it committed',
      async () => [],
      /\[memory\] not compliant: after a commit, heldLayers\(\) of a new instance does not list layer `sha256:[0-9a-f]{64}` of the committed image: the engine would read again every file the target already holds/,
    ],
    [
      "a sink that drops the layers' annotations but the title",
      async (inner) =>
        (await inner()).map((l) => ({
          ...l,
          annotations: { 'org.opencontainers.image.title': l.annotations!['org.opencontainers.image.title']! },
        })),
      /heldLayers\(\) lists `sha256:[0-9a-f]{64}` without its annotation `modelcar.layer.encoding` \(the image gave `tar;compression=none;mtime=0;prefix=\/;encoder=1`, heldLayers\(\) none\): the engine finds a layer by what its annotations say it was made from/,
    ],
    [
      'a sink that lists every blob it holds, configs and manifests too',
      async (inner, store) => {
        const layers = await inner()
        const docs = [...store.blobs.keys()].filter((d) => !layers.some((l) => l.digest === d))
        return [
          ...layers,
          ...docs.map((digest) => ({
            mediaType: 'application/vnd.oci.image.config.v1+json',
            digest,
            size: store.blobs.get(digest)!.byteLength,
          })),
        ]
      },
      /heldLayers\(\) lists `sha256:[0-9a-f]{64}` \(application\/vnd.oci.image.config.v1\+json\), which is not a layer of the image at the target: list the layers of the image the tag points at, nothing else/,
    ],
    [
      'a heldLayers() that returns nothing at all',
      async () => undefined,
      /\[memory\] not compliant: heldLayers\(\) on an empty target returned undefined, not an array of descriptors/,
    ],
  ])('catches %s', async (_what, held, message) => {
    await expect(assertSinkCompliance(heldBy(held), {})).rejects.toThrow(message)
  })
})

describe('memorySink', () => {
  it('takes a whole run from the engine', async () => {
    const sink = memorySink()
    const dir = await temp()
    await writeFile(join(dir, 'w.bin'), 'weights')
    const recipe = await parseRecipe(
      'apiVersion: modelcar/v1\nsources:\n  - type: local\n    path: ./w.bin\nsinks:\n  - type: memory\n    tag: v1\n',
      join(dir, 'recipe.yaml'),
      {
        registry: createCoreRegistry().register(sink),
      },
    )
    const result = await runRecipe(recipe)
    const image = sink.store.images.get('v1')!
    expect(image.root.digest).toBe(result.digest)
    const manifest = JSON.parse(sink.store.text(image.root.digest)) as { layers: { annotations: Record<string, string> }[] }
    expect(manifest.layers.map((l) => l.annotations['org.opencontainers.image.title'])).toEqual(['w.bin'])
  })

  it('gives a second run into the same store the layers it holds: files named by their digest are not read again', async () => {
    const sink = memorySink()
    const bytes = Buffer.from('weights that a second run must not read\n')
    let opens = 0
    const digested = defineSource({
      type: 'digested',
      description: 'One file whose digest is known before it is read (a test source).',
      schema: Type.Object({}, { additionalProperties: false }),
      create: () => ({
        async *list() {
          yield { path: 'w.bin', size: bytes.length, digest: sha256Digest(bytes), open: async () => (opens++, [bytes]) }
        },
      }),
    })
    const dir = await temp()
    const registry = createCoreRegistry().register(sink).register(digested)
    const yaml = 'apiVersion: modelcar/v1\nsources:\n  - type: digested\nsinks:\n  - type: memory\n'
    const first = await runRecipe(await parseRecipe(yaml, join(dir, 'recipe.yaml'), { registry }))
    expect(opens).toBe(1)
    const second = await runRecipe(await parseRecipe(yaml, join(dir, 'recipe.yaml'), { registry }))
    expect(second.digest).toBe(first.digest)
    expect(second.reused).toBe(1)
    expect(opens).toBe(1)
  })
})
