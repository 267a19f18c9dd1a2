// A sink whose upload fails in a retryable way gets the layer streamed again from the source, for
// it alone, with the digest known from the first pass; a non-retryable failure ends the run.
import { createHash } from 'node:crypto'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Type } from '@sinclair/typebox'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createCoreRegistry } from '../builtins.js'
import type { BlobHint } from '../contract/blob.js'
import { defineSink } from '../contract/component.js'
import { ModelcarError } from '../errors/index.js'
import { parseRecipe } from '../recipe/load-recipe.js'
import type { RunEvent } from '../contract/events.js'
import { runRecipe } from './run-recipe.js'

let dir: string
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mc-restream-'))
  await fs.mkdir(path.join(dir, 'model'))
  await fs.writeFile(path.join(dir, 'model', 'weights.bin'), Buffer.alloc(3 << 20, 9))
})
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true })
})

interface Pass {
  hint: BlobHint
  bytes: number
  digest?: string
  committed: boolean
}

/** A sink that keeps every pass it was given and fails the first `fail` passes of big blobs after 1 MiB. */
function recordingSink(fail: number, retryable: boolean) {
  const passes: Pass[] = []
  const blobs = new Map<string, number>()
  let failed = 0
  const sink = defineSink({
    type: 'recording',
    description: 'test sink',
    schema: Type.Object({}),
    create() {
      return {
        target: 'recording:',
        has: async (d) => blobs.has(d.digest),
        async openBlob(hint) {
          const pass: Pass = { hint, bytes: 0, committed: false }
          passes.push(pass)
          const hash = createHash('sha256')
          return {
            async write(chunk) {
              pass.bytes += chunk.byteLength
              hash.update(chunk)
              if (pass.bytes > 1 << 20 && failed < fail) {
                failed++
                throw new ModelcarError('REGISTRY_UNREACHABLE', 'connection reset', { retryable })
              }
            },
            async commit(expected) {
              pass.digest = `sha256:${hash.digest('hex')}`
              if (pass.digest !== expected.digest) throw new Error('digest mismatch')
              pass.committed = true
              blobs.set(expected.digest, expected.size)
            },
            async abort() {},
          }
        },
        async commit(image) {
          return { ref: 'recording:', digest: image.root.digest }
        },
      }
    },
  })
  return { sink, passes }
}

async function run(fail: number, retryable: boolean) {
  const { sink, passes } = recordingSink(fail, retryable)
  const text = `apiVersion: modelcar/v1\nsources:\n  - type: local\n    path: ./model\nsinks:\n  - type: oci-layout\n    path: ./out\n  - type: recording\n`
  const file = path.join(dir, 'recipe.yaml')
  await fs.writeFile(file, text)
  const recipe = await parseRecipe(text, file, { registry: createCoreRegistry().register(sink), env: {} })
  const events: RunEvent[] = []
  const result = runRecipe(recipe, { onEvent: (e) => events.push(e), concurrency: 2 })
  return { result, passes, events }
}

describe('re-streaming a layer to one sink', () => {
  it('streams the layer again for the failed sink only, with the digest of the first pass', async () => {
    const { result, passes, events } = await run(2, true)
    const done = await result
    const big = passes.filter(
      (p) => p.hint.mediaType.includes('layer') && p.hint.annotations?.['org.opencontainers.image.title'] === 'weights.bin',
    )
    expect(big.map((p) => p.hint.attempt)).toEqual([1, 2, 3])
    expect(big.map((p) => p.committed)).toEqual([false, false, true])
    expect(big[0]!.hint.digest).toBeUndefined()
    expect(big[2]!.hint.digest).toBe(done.layers[0]!.descriptor!.digest)
    expect(big[2]!.digest).toBe(done.layers[0]!.descriptor!.digest)
    expect(events.filter((e) => e.type === 'retry').map((e) => (e as { what: string }).what)).toEqual([
      '/models/weights.bin → recording:',
      '/models/weights.bin → recording:',
    ])
    // The layout sink got the layer once, from the first pass.
    const index = JSON.parse(await fs.readFile(path.join(dir, 'out', 'index.json'), 'utf8')) as { manifests: { digest: string }[] }
    expect(index.manifests[0]!.digest).toBe(done.digest)
  })

  it('ends the run on a failure that is not worth retrying', async () => {
    const { result, passes } = await run(1, false)
    await expect(result).rejects.toThrow(/connection reset/)
    expect(passes.filter((p) => p.hint.attempt === 2)).toEqual([])
  })
})
