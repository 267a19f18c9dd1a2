import { describe, expect, it } from 'vitest'
import { createCoreRegistry, parseRecipe, runRecipe } from '@modelcar/core'
import { hfSource } from './hf-source.js'

const SHA = 'a'.repeat(40)

/** A Hub that lists whatever paths a test gives it (the emulator cannot store `../x` on disk). */
function hubListing(paths: string[]): typeof fetch {
  return async (input) => {
    const url = new URL(String(input))
    if (url.pathname.startsWith('/api/models/org/m/revision/'))
      return Response.json({ _id: 'x', id: 'org/m', sha: SHA, private: false, gated: false })
    if (url.pathname.startsWith(`/api/models/org/m/tree/${SHA}`))
      return Response.json(paths.map((path) => ({ type: 'file', path, size: 1, oid: 'b'.repeat(40) })))
    return new Response('not here', { status: 404 })
  }
}

async function plan(paths: string[]) {
  const recipe = await parseRecipe(
    'apiVersion: modelcar/v1\nsources:\n  - type: hf\n    repo: org/m\n    endpoint: https://hub.invalid\nsinks:\n  - type: oci-layout\n    path: ./out\n',
    '/tmp/recipe.yaml',
    { registry: createCoreRegistry().register(hfSource), env: {} },
  )
  return runRecipe(recipe, { dryRun: true, fetch: hubListing(paths), env: { HOME: '/nonexistent' } })
}

describe('source hf listing', () => {
  it('plans every file at the pinned commit', async () => {
    const result = await plan(['config.json', 'sub/w.bin'])
    expect(result.plan.files.map((f) => [f.target, f.file.origin])).toEqual([
      ['config.json', `hf://org/m@${SHA}/config.json`],
      ['sub/w.bin', `hf://org/m@${SHA}/sub/w.bin`],
    ])
    expect(result.plan.annotations['org.opencontainers.image.revision']).toBe(SHA)
  })

  it.each([['../escape.bin'], ['/etc/passwd'], ['a/../../b']])(
    'a file name that would escape the prefix (%s) is an input error',
    async (bad) => {
      await expect(plan(['config.json', bad])).rejects.toMatchObject({
        code: 'PATH_UNSAFE',
        input: true,
        message: expect.stringContaining('[hf]'),
      })
    },
  )
})
