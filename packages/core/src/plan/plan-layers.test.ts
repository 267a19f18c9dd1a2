import { describe, expect, it } from 'vitest'
import type { Plan, PlannedFile } from '../contract/plan.js'
import { planLayers } from './plan-layers.js'

function file(target: string, size: number, modelcard = false): PlannedFile {
  return { target, source: 'test', modelcard, file: { path: target, size, open: async () => (async function* () {})() } }
}

function plan(files: PlannedFile[], over: Partial<Plan['layering']> = {}, baseLayers = 1): Plan {
  return {
    prefix: 'models',
    files,
    derived: [],
    layering: { strategy: 'per-file', groupBelowBytes: 1 << 20, maxLayers: 127, ...over },
    compression: 'none',
    modelcardCompression: 'gzip',
    annotations: {},
    labels: {},
    baseLayers,
  }
}

describe('planLayers', () => {
  it('one layer per file, sorted by path, model card last and annotated', () => {
    const layers = planLayers(plan([file('b.bin', 10), file('README.md', 5, true), file('a.bin', 10)]))
    expect(layers.map((l) => l.files.map((f) => f.target))).toEqual([['a.bin'], ['b.bin'], ['README.md']])
    expect(layers[2]!.annotations['io.opendatahub.modelcar.layer.type']).toBe('modelcard')
    expect(layers[2]!.compression).toBe('gzip')
    expect(layers[0]!.annotations['org.opencontainers.image.title']).toBe('a.bin')
  })

  it('grouped: small files share one layer', () => {
    const layers = planLayers(
      plan([file('w.safetensors', 5 << 20), file('config.json', 100), file('tok/vocab.json', 2000)], { strategy: 'grouped' }),
    )
    expect(layers.map((l) => l.files.map((f) => f.target))).toEqual([['config.json', 'tok/vocab.json'], ['w.safetensors']])
    expect(layers[0]!.annotations['org.opencontainers.image.title']).toBeUndefined()
  })

  it('thousands of files never exceed the layer budget, and big shards stay alone', () => {
    const files = [file('shard-1', 1e9), file('shard-2', 1e9), ...Array.from({ length: 3000 }, (_, i) => file(`small/${i}.txt`, 1000 + i))]
    const layers = planLayers(plan(files, {}, 3))
    expect(layers.length).toBe(127 - 3)
    expect(layers.reduce((n, l) => n + l.files.length, 0)).toBe(3002)
    expect(layers.filter((l) => l.files.some((f) => f.target.startsWith('shard'))).every((l) => l.files.length === 1)).toBe(true)
    // deterministic
    expect(planLayers(plan(files, {}, 3)).map((l) => l.files.map((f) => f.target))).toEqual(layers.map((l) => l.files.map((f) => f.target)))
  })

  it('files a transform grouped by name share a layer whatever the strategy; the model card stays alone even if grouped', () => {
    const grouped = (f: PlannedFile, layer: string) => ({ ...f, layer })
    const layers = planLayers(
      plan([
        grouped(file('tok/a.json', 10), 'tokenizer'),
        grouped(file('tok/b.json', 10), 'tokenizer'),
        file('w.bin', 5 << 20),
        grouped(file('README.md', 5, true), 'tokenizer'),
      ]),
    )
    expect(layers.map((l) => l.files.map((f) => f.target))).toEqual([['tok/a.json', 'tok/b.json'], ['w.bin'], ['README.md']])
    expect(layers[2]!.modelcard).toBe(true)
  })

  it('derived files count against the layer budget', () => {
    const files = Array.from({ length: 10 }, (_, i) => file(`f${i}`, 100))
    const p = { ...plan(files, { maxLayers: 6 }, 1), derived: [{ target: 'SUMS', source: 't', build: () => '' }] }
    expect(planLayers(p)).toHaveLength(6 - 1 - 1)
  })

  it('a base that fills the budget is an error', () => {
    expect(() => planLayers(plan([file('a', 1)], { maxLayers: 10 }, 10))).toThrow(/no room is left/)
  })
})
