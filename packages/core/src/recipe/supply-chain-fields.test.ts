import { describe, expect, it } from 'vitest'
import { createCoreRegistry } from '../builtins.js'
import { isModelcarError } from '../errors/modelcar-error.js'
import { parseRecipe } from './load-recipe.js'

const recipe = (extra: string) =>
  `apiVersion: modelcar/v1\nsources:\n  - type: local\n    path: ./m\nsinks:\n  - type: oci-layout\n    path: ./out\n${extra}`

async function problems(text: string): Promise<string[]> {
  try {
    await parseRecipe(text, 'r.yaml', { registry: createCoreRegistry(), env: {} })
    return []
  } catch (err) {
    if (!isModelcarError(err)) throw err
    return err.diagnostics.map((d) => `${d.location?.line}:${d.location?.col} ${d.message}`)
  }
}

describe('recipe fields attach and sign', () => {
  it('are taken as written', async () => {
    const r = await parseRecipe(recipe('attach:\n  sbom: cyclonedx\n  provenance: true\nsign:\n  key: ./cosign.key\n'), 'r.yaml', {
      registry: createCoreRegistry(),
      env: {},
    })
    expect(r.attach).toEqual({ sbom: 'cyclonedx', provenance: true })
    expect(r.sign).toEqual({ key: './cosign.key', keyless: false })
  })

  it('sign names one way to sign; unknown formats and fields are refused where they are', async () => {
    expect(await problems(recipe('sign:\n  keyless: true\n  key: ./k\n'))).toEqual(['9:3 `sign` names a `key` and `keyless: true`'])
    expect(await problems(recipe('sign: {}\n'))).toEqual(['8:7 `sign` names no way to sign'])
    expect((await problems(recipe('attach:\n  sbom: spdx\n')))[0]).toMatch(/^9:9 /)
    expect((await problems(recipe('attach:\n  signature: true\n')))[0]).toMatch(/^9:3 .*signature/)
  })
})
