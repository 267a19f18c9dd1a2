// The official `registry` sink passes the conformance kit plugin authors use, against Debian's
// docker-registry: blobs checked, nothing of an aborted run tagged, commit refusing an image whose
// layers it does not hold, and heldLayers() giving back the committed image's layers with the
// annotations a later run finds them by. (`oci-layout` passes it in packages/testing's own tests.)
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { registrySink } from '@modelcar/sink-registry'
import { assertSinkCompliance, testContext } from '@modelcar/testing'
import { startRegistry, type Registry } from '../../tools/harness/registry.js'
import { tempDir, type TempDir } from '../../tools/harness/temp.js'

let tmp: TempDir
let registry: Registry
beforeAll(async () => {
  tmp = await tempDir('mc-sink-compliance')
  registry = await startRegistry()
})
afterAll(async () => {
  await registry?.stop()
  await tmp?.cleanup()
})

/** The repository's tags: what an aborted run must leave as it was (blobs are content-addressed and cannot be listed). */
async function tagsOf(repository: string): Promise<string[]> {
  const res = await fetch(`${registry.url}/v2/${repository}/tags/list`)
  if (res.status === 404) return []
  if (!res.ok) throw new Error(`GET tags of ${repository}: ${res.status}`)
  const body = (await res.json()) as { tags?: string[] | null }
  return (body.tags ?? []).map((t) => `tag:${t}`)
}

describe('official sinks pass the conformance kit', () => {
  it('registry', async () => {
    const repository = 'compliance/kit'
    const report = await assertSinkCompliance(
      registrySink,
      { ref: `${registry.host}/${repository}:v1` },
      {
        // No credentials on this machine: the auth files the sink looks for are not there.
        context: () =>
          testContext({ type: 'registry', env: { HOME: join(tmp.path, 'no-home'), REGISTRY_AUTH_FILE: join(tmp.path, 'no-auth.json') } }),
        listTarget: () => tagsOf(repository),
        // A real server on a machine shared with other tests: more than the default 4 s per call.
        stepTimeoutMs: 20_000,
      },
    )
    expect(report.checks).toContain('heldLayers() lists nothing on an empty target')
    expect(report.checks).toContain("heldLayers() of a new instance lists the committed image's layers with their annotations")
    expect(await tagsOf(repository)).toEqual(['tag:v1'])
  })
})
