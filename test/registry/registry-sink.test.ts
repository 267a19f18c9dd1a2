// Sink `registry` against a real registry (Debian's docker-registry) on loopback: the pushed image
// is the one an oci-layout sink writes, skopeo reads it, podman pulls and runs it; a second run
// uploads nothing; basic auth from an auth file; clear errors without secrets.
import { writeFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildFixtures, type FixturePaths } from '../../tools/fixtures/build-fixtures.mjs'
import { startRegistry, type Registry } from '../../tools/harness/registry.js'
import { tempDir, type TempDir } from '../../tools/harness/temp.js'
import { podmanRun, skopeoInspect } from '../../tools/harness/tools.js'
import {
  assertCliBuilt,
  cliEnv,
  modelcar,
  mustModelcar,
  printedDigest,
  readIndex,
  sha256,
  tagged,
  writeModel,
  type Model,
} from '../e2e/support.js'

const SLOW = 180_000
const USER = { user: 'pusher', password: 'S3cret-pa55word' }

let tmp: TempDir
let fixtures: FixturePaths
let model: Model
let open: Registry
let basic: Registry

beforeAll(async () => {
  await assertCliBuilt()
  tmp = await tempDir('mc-reg')
  fixtures = await buildFixtures(join(tmp.path, 'fixtures'))
  model = await writeModel(join(tmp.path, 'model'), { weightsBytes: 3 << 20 })
  ;[open, basic] = await Promise.all([startRegistry(), startRegistry({ htpasswd: USER })])
}, SLOW)

afterAll(async () => {
  await open?.stop()
  await basic?.stop()
  await tmp?.cleanup()
})

let n = 0
async function recipe(
  sinks: string,
  base = `oci-layout:${fixtures.multiarch}:latest`,
  transforms = '',
): Promise<{ file: string; dir: string }> {
  const dir = join(tmp.path, `run-${++n}`)
  await mkdir(dir, { recursive: true })
  const file = join(dir, 'recipe.yaml')
  await writeFile(
    file,
    `apiVersion: modelcar/v1\nbase: ${base}\nsources:\n  - type: local\n    path: ${model.root}\n${transforms}sinks:\n${sinks}`,
  )
  return { file, dir }
}

/** Requests the registry logged that upload bytes (blob sessions, PATCH, PUT of blobs or manifests). */
function writes(logs: string): string[] {
  return logs.split('\n').filter((l) => /"(PATCH|PUT|POST) \/v2\//.test(l))
}

const env = (extra: Record<string, string> = {}) =>
  cliEnv({
    REGISTRY_AUTH_FILE: join(tmp.path, 'no-auth.json'),
    HOME: join(tmp.path, 'home'),
    XDG_RUNTIME_DIR: join(tmp.path, 'xdg'),
    ...extra,
  })

describe('sink registry', () => {
  it('pushes the same image an oci-layout sink writes; skopeo reads it, podman runs it; a re-run uploads nothing', async () => {
    const ref = `${open.host}/models/tiny:v1`
    const { file, dir } = await recipe(
      `  - type: oci-layout\n    path: ./out\n  - type: registry\n    ref: ${ref}\n`,
      undefined,
      'transforms:\n  - type: modelcard\n    file: README.md\n',
    )
    const first = await mustModelcar(['run', file], { env: env() })
    const digest = printedDigest(first)
    expect(tagged(await readIndex(join(dir, 'out'))).digest).toBe(digest)

    const { rawText, raw } = await skopeoInspect(`docker://${ref}`)
    expect(sha256(rawText)).toBe(digest)
    expect(raw.mediaType).toBe('application/vnd.oci.image.index.v1+json')
    const listing = await podmanRun(ref, 'ls -la /models && cat /models/tokenizer/vocab.json')
    expect(listing).toContain('weights.bin')
    expect(listing).toContain('README.md')
    expect(listing).toContain('"hello":2')

    // `modelcar inspect` reads the pushed image from the registry, model card included.
    const inspected = JSON.parse((await mustModelcar(['inspect', `registry:${ref}`, '--json'], { env: env() })).stdout) as {
      digest: string
      platforms: { layers: { title?: string }[] }[]
      modelcard?: { text: string }
    }
    expect(inspected.digest).toBe(digest)
    expect(inspected.platforms.length).toBeGreaterThanOrEqual(2)
    expect(inspected.platforms[0]!.layers.some((l) => l.title === 'weights.bin')).toBe(true)
    expect(inspected.modelcard?.text).toContain('A model card')

    const before = writes(open.logs()).length
    expect(before).toBeGreaterThan(0)
    const again = await mustModelcar(['run', file], { env: env() })
    expect(printedDigest(again)).toBe(digest)
    expect(writes(open.logs()).slice(before)).toEqual([])
  })

  it('pushes with basic auth from REGISTRY_AUTH_FILE; wrong or missing credentials fail with 401 and no secret', async () => {
    const ref = `${basic.host}/team/model:v1`
    const { file } = await recipe(`  - type: registry\n    ref: ${ref}\n`)
    const authFile = join(tmp.path, 'auth.json')
    const write = (password: string) =>
      writeFile(authFile, JSON.stringify({ auths: { [basic.host]: { auth: Buffer.from(`${USER.user}:${password}`).toString('base64') } } }))

    await write('wrong-password-xyz')
    const wrong = await modelcar(['run', file], { env: env({ REGISTRY_AUTH_FILE: authFile }) })
    expect(wrong.code, wrong.stderr).not.toBe(0)
    console.info(`wrong credentials: ${wrong.stderr.trim()}`)
    expect(wrong.stderr).toMatch(/401/)
    expect(wrong.stderr).toContain(basic.host)
    expect(wrong.stderr + wrong.stdout).not.toContain('wrong-password-xyz')
    expect(wrong.stderr + wrong.stdout).not.toContain(Buffer.from(`${USER.user}:wrong-password-xyz`).toString('base64'))

    const none = await modelcar(['run', file], { env: env() })
    expect(none.code, none.stderr).not.toBe(0)
    console.info(`no credentials: ${none.stderr.trim()}`)
    expect(none.stderr).toMatch(/401/)

    await write(USER.password)
    const ok = await mustModelcar(['run', file], { env: env({ REGISTRY_AUTH_FILE: authFile }) })
    const digest = printedDigest(ok)
    const { rawText } = await skopeoInspect(`docker://${ref}`, { creds: USER })
    expect(sha256(rawText)).toBe(digest)
    expect(ok.stdout + ok.stderr).not.toContain(USER.password)
  })

  it('rejects a malformed ref as bad input (exit 2) and names an unknown host', async () => {
    const bad = await recipe(`  - type: registry\n    ref: "Not A Ref!"\n`)
    const r1 = await modelcar(['run', bad.file], { env: env() })
    expect(r1.code, r1.stderr).toBe(2)
    expect(r1.stderr).toMatch(/recipe\.yaml:\d+:\d+/)

    const unknown = await recipe(`  - type: registry\n    ref: no-such-host.invalid/acme/model:v1\n`)
    const r2 = await modelcar(['run', unknown.file], { env: env() })
    expect(r2.code).toBe(1)
    expect(r2.stderr).toMatch(/no-such-host\.invalid/)
    expect(r2.stderr).toMatch(/ENOTFOUND|EAI_AGAIN/)
  })
})
