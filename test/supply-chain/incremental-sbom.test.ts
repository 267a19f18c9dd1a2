// Issue 15: an SBOM on an incremental run still lists every file with its sha256, without reading
// the files again. From the Hub: a second run that adds `attach` to a mirrored model downloads no
// model file (the Hub emulator counts; the card's start once, for its licence), yet its SBOM lists every file with the digest sha256sum gives
// of the file as the Hub serves it, and its provenance names the Hub repository at its commit. From
// local files (known only by a fingerprint): the first run that asks for an SBOM hashes them (and
// records their digests), so a later run whose model changed reads only the changed file.
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHubEmulator, writeRepo, type HubEmulator } from '../../tools/hub-emulator/hub-emulator.mjs'
import { startRegistry, type Registry } from '../../tools/harness/registry.js'
import { tempDir, type TempDir } from '../../tools/harness/temp.js'
import { assertCliBuilt, mustModelcar, printedDigest } from '../e2e/support.js'
import { hubDownloads, isolatedEnv, lfsPaths, MiB, modelSpec, writeRecipe } from '../incremental/support.js'
import { RegistryReader, sha256sums, writeLicensedModel } from './support.js'

const SLOW = 300_000
const REPO = 'acme/sbom'
const CYCLONEDX = 'application/vnd.cyclonedx+json'
const model = modelSpec(2, 3 * MiB)

let tmp: TempDir
let hub: HubEmulator
let registry: Registry
let commit: string

beforeAll(async () => {
  await assertCliBuilt()
  tmp = await tempDir('supply-chain-incremental')
  commit = await writeRepo(join(tmp.path, 'hub'), REPO, { files: model.files })
  hub = await startHubEmulator({ root: join(tmp.path, 'hub') })
  registry = await startRegistry()
}, SLOW)

afterAll(async () => {
  await hub?.stop()
  await registry?.stop()
  await tmp?.cleanup()
})

const env = () => isolatedEnv(join(tmp.path, 'home'))
const ATTACH = 'attach:\n  sbom: cyclonedx\n  provenance: true\n'

interface Bom {
  components: { type: string; name: string; hashes?: { content: string }[]; externalReferences?: { url: string }[] }[]
}

/** The SBOM attached to `digest` in `repo`, read with GETs. */
async function sbomOf(repo: string, digest: string): Promise<Bom> {
  const reg = new RegistryReader(registry.url, repo)
  const referrers = (await reg.manifest(`sha256-${digest.slice(7)}`))!.doc.manifests!
  const sbom = (await reg.manifest(referrers.find((r) => r.artifactType === CYCLONEDX)!.digest))!.doc
  return JSON.parse((await reg.blob(sbom.layers[0]!.digest)).toString('utf8')) as Bom
}

const files = (bom: Bom) => new Map(bom.components.filter((c) => c.type === 'file').map((c) => [c.name, c.hashes![0]!.content]))

/** The image digest of a `--json` run, from its `done` event. */
function doneDigest(stdout: string): string {
  const done = stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { type: string; digest?: string })
    .find((e) => e.type === 'done')
  expect(done?.digest, stdout).toMatch(/^sha256:[a-f0-9]{64}$/)
  return done!.digest!
}

/** Per-layer `layer-done` events of a `--json` run: how many layers were reused without a read. */
function skippedLayers(stdout: string): { done: number; skipped: number } {
  const events = stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { type: string; skipped?: boolean })
    .filter((e) => e.type === 'layer-done')
  return { done: events.length, skipped: events.filter((e) => e.skipped).length }
}

describe('an SBOM on an incremental run', () => {
  it(
    'from the Hub: adding `attach` to a mirrored model downloads no model file (the card once), and the SBOM lists every file with the sha256 sha256sum gives',
    async () => {
      const lfs = await lfsPaths(hub, REPO, commit)
      const source = `  - type: hf\n    repo: ${REPO}\n    endpoint: ${hub.url}\n    revision: ${commit}\n`
      const sinks = `  - type: registry\n    ref: ${registry.host}/inc/hub:v1\n`
      const cache = join(tmp.path, 'cache-hub')
      const plain = await writeRecipe(join(tmp.path, 'hub-plain'), { sources: source, sinks })
      const first = printedDigest(await mustModelcar(['run', plain, '--cache-dir', cache], { env: env() }))

      const withSbom = await writeRecipe(join(tmp.path, 'hub-sbom'), { sources: source, sinks: `${sinks}${ATTACH}` })
      const from = hub.requests.length
      const second = await mustModelcar(['run', withSbom, '--cache-dir', cache, '--json'], { env: env() })
      // No model file is read; the card's start is, once, for its licence (the first run watched no card).
      expect(Object.keys(hubDownloads(hub, from, lfs).byFile), 'files downloaded by the run with attach').toEqual(['README.md'])
      const again = hub.requests.length
      await mustModelcar(['run', withSbom, '--cache-dir', cache], { env: env() })
      expect(hubDownloads(hub, again, lfs).total, 'bytes downloaded once the record knows the card').toBe(0)
      const digest = doneDigest(second.stdout)
      expect(digest).toBe(first)
      const layers = skippedLayers(second.stdout)
      expect(layers.skipped).toBe(layers.done)

      // The files as the Hub serves them, hashed by sha256sum.
      const fetched = join(tmp.path, 'fetched')
      await mkdir(fetched)
      for (const name of Object.keys(model.files)) {
        const res = await fetch(`${hub.url}/${REPO}/resolve/${commit}/${name}`)
        expect(res.status, name).toBe(200)
        await writeFile(join(fetched, name), Buffer.from(await res.arrayBuffer()))
      }
      const bom = await sbomOf('inc/hub', digest)
      expect(files(bom)).toEqual(await sha256sums(fetched))
      const origins = bom.components.filter((c) => c.type === 'file').map((c) => c.externalReferences?.[0]?.url)
      expect(origins.every((o) => o?.startsWith(`hf://${REPO}@${commit}/`))).toBe(true)

      const reg = new RegistryReader(registry.url, 'inc/hub')
      const referrers = (await reg.manifest(`sha256-${digest.slice(7)}`))!.doc.manifests!
      const prov = (await reg.manifest(referrers.find((r) => r.artifactType === 'application/vnd.in-toto+json')!.digest))!.doc
      const statement = JSON.parse((await reg.blob(prov.layers[0]!.digest)).toString('utf8')) as {
        subject: { digest: { sha256: string } }[]
        predicate: { buildDefinition: { resolvedDependencies: { name?: string; uri?: string; digest: Record<string, string> }[] } }
      }
      expect(statement.subject[0]!.digest.sha256).toBe(digest.slice(7))
      expect(statement.predicate.buildDefinition.resolvedDependencies.find((d) => d.name === 'source')?.digest).toEqual({
        gitCommit: commit,
      })
    },
    SLOW,
  )

  it(
    'from local files: the first run with an SBOM hashes them; when one file changes, the next run reads only that one and lists every file right',
    async () => {
      const dir = join(tmp.path, 'local')
      const modelDir = join(dir, 'model')
      await writeLicensedModel(modelDir, 2 * MiB)
      const cache = join(tmp.path, 'cache-local')
      const source = `  - type: local\n    path: ${JSON.stringify(modelDir)}\n`
      const sinks = `  - type: registry\n    ref: ${registry.host}/inc/local:v1\n`
      const plain = await writeRecipe(join(dir, 'plain'), { sources: source, sinks })
      await mustModelcar(['run', plain, '--cache-dir', cache], { env: env() })

      const withSbom = await writeRecipe(join(dir, 'sbom'), { sources: source, sinks: `${sinks}${ATTACH}` })
      const hashed = await mustModelcar(['run', withSbom, '--cache-dir', cache, '--json'], { env: env() })
      expect(files(await sbomOf('inc/local', doneDigest(hashed.stdout)))).toEqual(await sha256sums(modelDir))

      await writeFile(join(modelDir, 'config.json'), '{"architectures":["TinyForCausalLM"],"changed":true}\n')
      const changed = await mustModelcar(['run', withSbom, '--cache-dir', cache, '--json'], { env: env() })
      const layers = skippedLayers(changed.stdout)
      expect(layers).toEqual({ done: 4, skipped: 3 })
      expect(files(await sbomOf('inc/local', doneDigest(changed.stdout)))).toEqual(await sha256sums(modelDir))
    },
    SLOW,
  )
})
