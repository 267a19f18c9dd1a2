// `modelcar run` pushing to a registry with token auth: credentials from a Docker config and a
// credential helper (an identity token), tokens that lapse mid-push, a repository the account may
// only pull, and skopeo reading the result. The auth module's work seen from the user's side.
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildFixtures, type FixturePaths } from '../../tools/fixtures/build-fixtures.mjs'
import { startRegistry, type Registry } from '../../tools/harness/registry.js'
import { tempDir, type TempDir } from '../../tools/harness/temp.js'
import { skopeoInspect } from '../../tools/harness/tools.js'
import { startTokenServer, type TokenServer } from '../../tools/token-server/token-server.mjs'
import { assertCliBuilt, cliEnv, modelcar, mustModelcar, printedDigest, sha256, writeModel, type Model } from '../e2e/support.js'
import { basicAuth, writeCredentialHelper, writeJson } from './support.js'

const SLOW = 180_000
const ALICE = { user: 'alice', password: 'cli-Alice-pw-5e2' }
const BOB = { user: 'bob', password: 'cli-Bob-pw-8a0' }

let tmp: TempDir
let fixtures: FixturePaths
let model: Model
let tokens: TokenServer
let registry: Registry

beforeAll(async () => {
  await assertCliBuilt()
  tmp = await tempDir('mc-reg-auth-cli')
  fixtures = await buildFixtures(join(tmp.path, 'fixtures'))
  model = await writeModel(join(tmp.path, 'model'), { weightsBytes: 2 << 20 })
  tokens = await startTokenServer({
    users: {
      [ALICE.user]: { password: ALICE.password, access: { 'models/*': ['pull', 'push'] } },
      [BOB.user]: { password: BOB.password, access: { 'models/*': ['pull'] } },
    },
  })
  registry = await startRegistry({ token: tokens.registryAuth })
}, SLOW)

afterAll(async () => {
  await registry?.stop()
  await tokens?.stop()
  await tmp?.cleanup()
})

let n = 0
async function recipe(ref: string): Promise<string> {
  const dir = join(tmp.path, `run-${++n}`)
  await mkdir(dir, { recursive: true })
  const file = join(dir, 'recipe.yaml')
  await writeFile(
    file,
    `apiVersion: modelcar/v1\nbase: oci-layout:${fixtures.multiarch}:latest\nsources:\n  - type: local\n    path: ${model.root}\nsinks:\n  - type: registry\n    ref: ${ref}\n`,
  )
  return file
}

/** A HOME with nothing but what the test writes; no REGISTRY_AUTH_FILE, so the default files are read. */
function homeEnv(home: string, extra: Record<string, string> = {}) {
  const env = cliEnv({ HOME: home, XDG_RUNTIME_DIR: join(home, 'run'), ...extra })
  delete env.REGISTRY_AUTH_FILE
  delete env.DOCKER_CONFIG
  delete env.XDG_CONFIG_HOME
  return env
}

describe('modelcar run → registry with token auth', () => {
  it('pushes with an identity token from a credential helper named in ~/.docker/config.json', async () => {
    const home = join(tmp.path, 'home-helper')
    const bin = join(home, 'bin')
    const refresh = tokens.createRefreshToken(ALICE.user)
    await writeCredentialHelper(bin, 'mcli', { [registry.host]: { Username: '<token>', Secret: refresh } })
    await writeJson(join(home, '.docker', 'config.json'), { auths: {}, credHelpers: { [registry.host]: 'mcli' } })
    await mkdir(join(home, 'run'), { recursive: true })
    tokens.requests.length = 0
    const ref = `${registry.host}/models/tiny:v1`
    const result = await mustModelcar(['run', await recipe(ref)], { env: homeEnv(home, { PATH: `${bin}:${process.env.PATH}` }) })
    const digest = printedDigest(result)
    expect(result.stdout + result.stderr).not.toContain(refresh)
    expect(tokens.requests.length).toBeGreaterThan(0)
    expect(tokens.requests.every((r) => r.method === 'POST' && r.grantType === 'refresh_token' && r.status === 200)).toBe(true)
    console.info(
      `token requests during the push: ${tokens.requests.length}; registry 401s: ${(registry.logs().match(/" 401 /g) ?? []).length}`,
    )
    const { rawText } = await skopeoInspect(`docker://${ref}`, { creds: ALICE })
    expect(sha256(rawText)).toBe(digest)
  })

  it('an account that may only pull gets "denied" with the status, and no secret', async () => {
    const home = join(tmp.path, 'home-bob')
    await writeJson(join(home, 'run', 'containers', 'auth.json'), {
      auths: { [registry.host]: { auth: basicAuth(BOB.user, BOB.password) } },
    })
    const run = await modelcar(['run', await recipe(`${registry.host}/models/tiny:v2`)], { env: homeEnv(home) })
    expect(run.code, run.stderr).toBe(2) // bad credentials are input to fix, not a run to retry
    console.info(`denied: ${run.stderr.trim()}`)
    expect(run.stderr).toContain(`on \`${registry.host}\` is denied [401`)
    expect(run.stderr).toContain('`models/tiny`')
    expect(run.stderr).toContain(join(home, 'run', 'containers', 'auth.json'))
    for (const secret of [BOB.password, basicAuth(BOB.user, BOB.password)]) expect(run.stdout + run.stderr).not.toContain(secret)
  })

  it('a wrong password gets "wrong credentials" with the token server\'s 401, and no secret', async () => {
    const home = join(tmp.path, 'home-wrong')
    await writeJson(join(home, '.config', 'containers', 'auth.json'), {
      auths: { [registry.host]: { auth: basicAuth(ALICE.user, 'not-alices-pw') } },
    })
    const run = await modelcar(['run', await recipe(`${registry.host}/models/tiny:v3`)], { env: homeEnv(home) })
    expect(run.code, run.stderr).toBe(2) // bad credentials are input to fix, not a run to retry
    console.info(`wrong: ${run.stderr.trim()}`)
    expect(run.stderr).toContain(`wrong credentials for \`${registry.host}\``)
    expect(run.stderr).toContain(`401 GET ${tokens.realm}`)
    expect(run.stdout + run.stderr).not.toContain('not-alices-pw')
  })
})

describe('modelcar run → registry whose tokens lapse mid-push', () => {
  it('tokens the registry stops taking long before expires_in are replaced, and the push completes', async () => {
    // The registry stops taking a JWT 1 s after issue (distribution allows 60 s past exp) while
    // expires_in says 300: the cache keeps it until a 401. A replayable request is then sent again
    // with a new token; a streamed PATCH that meets the 401 (when it starts late enough: timing, so
    // not asserted; registry-client.test.ts covers it) gets the layer streamed again.
    const lapsing = await startTokenServer({
      users: { [ALICE.user]: { password: ALICE.password, access: { '*': ['pull', 'push'] } } },
      expiresInSeconds: 300,
      jwtLifetimeSeconds: -59,
    })
    const lapsingRegistry = await startRegistry({ token: lapsing.registryAuth })
    try {
      // Large enough that the push outlasts the 1 s a token is taken, on any machine: with 64 MiB a
      // fast run finished with its first token and the test saw nothing lapse.
      const big = await writeModel(join(tmp.path, 'model-384m'), { weightsBytes: 384 << 20 })
      const dir = join(tmp.path, 'lapse')
      await mkdir(dir, { recursive: true })
      const file = join(dir, 'recipe.yaml')
      const ref = `${lapsingRegistry.host}/m/x:v1`
      await writeFile(
        file,
        `apiVersion: modelcar/v1\nbase: oci-layout:${fixtures.multiarch}:latest\nsources:\n  - type: local\n    path: ${big.root}\nsinks:\n  - type: registry\n    ref: ${ref}\n`,
      )
      const authFile = await writeJson(join(dir, 'auth.json'), {
        auths: { [lapsingRegistry.host]: { auth: basicAuth(ALICE.user, ALICE.password) } },
      })
      const result = await mustModelcar(['run', file, '--json'], { env: cliEnv({ REGISTRY_AUTH_FILE: authFile, HOME: dir }) })
      const again = result.stdout.split('\n').filter((l) => l.includes('streaming it again') && l.includes('credentials again'))
      console.info(`lapsed tokens: ${lapsing.requests.length} token requests, ${again.length} layer(s) streamed again after a 401`)
      expect(lapsing.requests.length).toBeGreaterThan(1)
      const done = result.stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { type: string; digest?: string })
        .find((e) => e.type === 'done')
      // Read back with a token fetched right before the GET: skopeo's token, taken a moment
      // earlier, could lapse in this registry's 1 s on a busy machine (it did, in CI).
      const manifest = await readManifestQuickly(lapsingRegistry.url, lapsing, 'm/x', 'v1', ALICE)
      expect(sha256(manifest)).toBe(done?.digest)
    } finally {
      await lapsingRegistry.stop()
      await lapsing.stop()
    }
  })
})

/** A manifest read with a token from the token server, used the moment it arrives. */
async function readManifestQuickly(
  registryUrl: string,
  tokens: TokenServer,
  repo: string,
  tag: string,
  who: { user: string; password: string },
): Promise<string> {
  const realm = new URL(tokens.realm)
  realm.searchParams.set('service', tokens.service)
  realm.searchParams.set('scope', `repository:${repo}:pull`)
  const answer = await fetch(realm, { headers: { authorization: `Basic ${basicAuth(who.user, who.password)}` } })
  const { token } = (await answer.json()) as { token: string }
  const url = `${registryUrl}/v2/${repo}/manifests/${tag}`
  const accept = 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json'
  const res = await fetch(url, { headers: { accept, authorization: `Bearer ${token}` } })
  expect(res.status, `GET ${url}`).toBe(200)
  return res.text()
}
