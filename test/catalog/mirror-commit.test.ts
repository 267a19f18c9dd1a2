// `{commit}` in a catalogue's ref, for immutable tags: the tag is the commit the Hub resolved the
// revision to, and the image's revision annotation says the same commit. When the branch moves, the
// next mirror writes a new tag for the new commit, reads only what changed, and leaves the old tag
// as it was.
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addCommit, startHubEmulator, writeRepo, type HubEmulator } from '../../tools/hub-emulator/hub-emulator.mjs'
import { startRegistry, type Registry } from '../../tools/harness/registry.js'
import { tempDir, type TempDir } from '../../tools/harness/temp.js'
import { assertCliBuilt, mustModelcar } from '../e2e/support.js'
import { catalogEnv, eventsOf, expectPulledModel, hubModel, registryTags, servedByRepo, writeCatalog } from './support.js'

const REVISION = 'org.opencontainers.image.revision'

let tmp: TempDir
let hub: HubEmulator
let registry: Registry
const model = hubModel('pinned', 2)
const hubRoot = () => join(tmp.path, 'hub')

beforeAll(async () => {
  await assertCliBuilt()
  tmp = await tempDir('mc-catalog-commit')
  hub = await startHubEmulator({ root: hubRoot() })
  registry = await startRegistry()
})

afterAll(async () => {
  await hub?.stop()
  await registry?.stop()
  await tmp?.cleanup()
})

describe('modelcar mirror: {commit} in a ref', () => {
  it('tags the image with the commit the revision resolved to, which its revision annotation names; a moved branch gets a new tag', async () => {
    const first = await writeRepo(hubRoot(), model.repo, { files: model.files })
    const file = await writeCatalog(
      tmp.path,
      'catalog.yaml',
      [
        'apiVersion: modelcar/v1',
        'kind: Catalog',
        'template:',
        '  base: scratch',
        '  sinks:',
        '    - type: registry',
        `      ref: "${registry.host}/pinned/{name}:{commit}"`,
        'models:',
        `  - source: { type: hf, repo: ${model.repo}, revision: main }`,
        '',
      ].join('\n'),
    )
    const env = catalogEnv(join(tmp.path, 'home'), hub.url)
    const mirror = (cache: string) => mustModelcar(['mirror', file, '--json', '--cache-dir', join(tmp.path, 'cache', cache)], { env })

    const from = hub.requests.length
    const run = await mirror('first')
    const done = eventsOf(run).find((e) => e.type === 'model-done')
    expect(done).toMatchObject({ model: 'pinned', ok: true })
    expect(await registryTags(registry, 'pinned/pinned')).toEqual([first])
    const image = await expectPulledModel(registry, 'pinned/pinned', first, model, join(tmp.path, 'pulled', 'first'))
    expect(image.digest).toBe(done!.digest)
    expect(image.manifest.annotations?.[REVISION]).toBe(first)
    expect(image.manifest.annotations?.['modelcar.hf.revision'], 'the source was pinned to the commit').toBe(first)
    expect(servedByRepo(hub, from)).toEqual({ [model.repo]: model.bytes })

    // The branch moves: the model card changes. The next mirror tags the new commit and, with the
    // record of the first (the new tag holds nothing yet to reuse), reads the card alone.
    const card = Buffer.from('---\nlicense: apache-2.0\n---\n# pinned, second take\n')
    const second = await addCommit(hubRoot(), model.repo, { 'README.md': card })
    const moved = hub.requests.length
    await mirror('first')
    expect(await registryTags(registry, 'pinned/pinned')).toEqual([first, second].sort())
    const next = await expectPulledModel(
      registry,
      'pinned/pinned',
      second,
      { ...model, files: { ...model.files, 'README.md': card } },
      join(tmp.path, 'pulled', 'second'),
    )
    expect(next.manifest.annotations?.[REVISION]).toBe(second)
    expect(servedByRepo(hub, moved), 'what the second mirror read').toEqual({ [model.repo]: card.length })
    // The first tag is immutable in practice: still the first image.
    const again = await expectPulledModel(registry, 'pinned/pinned', first, model, join(tmp.path, 'pulled', 'first-again'))
    expect(again.digest).toBe(image.digest)
    console.info(`{commit}: tags ${first} and ${second}; the second mirror read ${card.length} B (the changed card)`)
  })
})
