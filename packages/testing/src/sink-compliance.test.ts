// The kit's sink rules against the in-memory sink, the official `oci-layout` sink, and sinks with
// one defect each.
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createCoreRegistry, ociLayoutSink, parseRecipe, runRecipe, type SinkComponent } from '@modelcar/core'
import { memorySink } from './memory-sink.js'
import { assertSinkCompliance } from './sink-compliance.js'
import { testContext } from './test-context.js'

const dirs: string[] = []
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})
const temp = async () => {
  const d = await mkdtemp(join(tmpdir(), 'modelcar-sink-kit-'))
  dirs.push(d)
  return d
}

describe('assertSinkCompliance', () => {
  it('passes the memory sink, which then holds the image and no open writer', async () => {
    const sink = memorySink()
    const report = await assertSinkCompliance(sink, {})
    expect(sink.store.images.get('latest')?.root.digest).toBe(report.image.root.digest)
    expect(sink.store.open).toBe(0)
    expect(report.checks).toHaveLength(6)
  })

  it('passes the official oci-layout sink', async () => {
    const dir = await temp()
    const report = await assertSinkCompliance(
      ociLayoutSink,
      { path: join(dir, 'out') },
      { context: () => testContext({ type: 'oci-layout', baseDir: dir }) },
    )
    expect(await readdir(join(dir, 'out'))).toEqual(expect.arrayContaining(['index.json', 'oci-layout', 'blobs']))
    expect(report.image.root.digest).toMatch(/^sha256:/)
  })

  it('catches a sink that accepts any digest', async () => {
    const lax = memorySink()
    const broken: SinkComponent = {
      ...lax,
      create: async (config, ctx) => {
        const inner = await lax.create(config, ctx)
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
        const inner = await base.create(config, ctx)
        return { ...inner, commit: async (image) => ({ ...(await inner.commit(image)), digest: 'sha256:0' }) }
      },
    }
    await expect(assertSinkCompliance(broken, {})).rejects.toThrow(/commit\(\) returned digest `sha256:0`/)
  })
})

describe('memorySink', () => {
  it('takes a whole run from the engine', async () => {
    const sink = memorySink()
    const dir = await temp()
    const { writeFile } = await import('node:fs/promises')
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
})
