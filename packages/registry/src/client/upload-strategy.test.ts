import { describe, expect, it } from 'vitest'
import { uploadStrategyFor } from './upload-strategy.js'

const MiB = 1 << 20

describe('uploadStrategyFor', () => {
  it('knows the registries that need something else than one streamed PATCH', () => {
    expect(uploadStrategyFor('ghcr.io')).toMatchObject({ mode: 'chunked', chunkBytes: 4 * MiB })
    expect(uploadStrategyFor('123456789012.dkr.ecr.eu-west-1.amazonaws.com').chunkBytes).toBeGreaterThanOrEqual(5e6)
    expect(uploadStrategyFor('europe-docker.pkg.dev')).toMatchObject({ mode: 'monolithic' })
    expect(uploadStrategyFor('gcr.io')).toMatchObject({ mode: 'monolithic' })
    expect(uploadStrategyFor('quay.io')).toMatchObject({ mode: 'streamed' })
    expect(uploadStrategyFor('127.0.0.1:5000')).toMatchObject({ mode: 'streamed' })
    expect(uploadStrategyFor('notghcr.io')).toMatchObject({ mode: 'streamed' })
  })

  it('lets the recipe override mode and chunk size', () => {
    expect(uploadStrategyFor('ghcr.io', { mode: 'streamed' })).toMatchObject({ mode: 'streamed', chunkBytes: 0 })
    expect(uploadStrategyFor('ghcr.io', { chunkBytes: 2 * MiB })).toMatchObject({ mode: 'chunked', chunkBytes: 2 * MiB })
    expect(uploadStrategyFor('quay.io', { mode: 'chunked' })).toMatchObject({ mode: 'chunked', chunkBytes: 4 * MiB })
    expect(uploadStrategyFor('quay.io', { mode: undefined, chunkBytes: undefined })).toMatchObject({
      mode: 'streamed',
      reason: 'quay.io: one streamed PATCH',
    })
  })
})
