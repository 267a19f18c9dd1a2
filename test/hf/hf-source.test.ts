// Source `hf` against the Hub emulator through the real @huggingface/hub client: a repo mirrored
// onto busybox, pushed with skopeo, run with podman; private, gated and missing repos; cut
// connections and rate limits; a revision pinned while the branch moves; a file over 2 GiB.
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildFixtures, type FixturePaths } from '../../tools/fixtures/build-fixtures.mjs'
import { addCommit, startHubEmulator, writeRepo, type HubEmulator } from '../../tools/hub-emulator/hub-emulator.mjs'
import { startRegistry, type Registry } from '../../tools/harness/registry.js'
import { tempDir, type TempDir } from '../../tools/harness/temp.js'
import { podmanRun, skopeoCopyToRegistry } from '../../tools/harness/tools.js'
import { createCoreRegistry, DEFAULT_RETRY_POLICY, loadRecipe, runRecipe, type RunEvent } from '@modelcar/core'
import { hfSource } from '@modelcar/source-hf'
import { assertCliBuilt, cliEnv, modelcar, printedDigest, readIndex, readJsonBlob, tagged, type ImageConfig } from '../e2e/support.js'

const SLOW = 180_000
const GOOD = 'hf_goodtoken1234567890'
const NO_ACCESS = 'hf_noaccess0987654321'

const files: Record<string, Buffer> = {
  'config.json': Buffer.from('{"model_type":"llama","hidden_size":64}\n'),
  'generation_config.json': Buffer.from('{"do_sample":false}\n'),
  'tokenizer/vocab.json': Buffer.from(JSON.stringify({ a: 1, b: 2, c: 3 })),
  'tokenizer/merges.txt': Buffer.from('a b\nb c\n'),
  'nested/deep/er/notes.txt': Buffer.from('deep\n'),
  'model-00001-of-00002.safetensors': randomBytes(3 << 20),
  'model-00002-of-00002.safetensors': randomBytes(2 << 20),
  'README.md': Buffer.from('---\nlicense: apache-2.0\n---\n# tiny-llm\n'),
}
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

let tmp: TempDir
let fixtures: FixturePaths
let hub: HubEmulator
let registry: Registry
let commit: string
const hubRoot = () => join(tmp.path, 'hub')

beforeAll(async () => {
  await assertCliBuilt()
  tmp = await tempDir('mc-hf')
  fixtures = await buildFixtures(join(tmp.path, 'fixtures'))
  commit = await writeRepo(hubRoot(), 'acme/tiny-llm', { files })
  await writeRepo(hubRoot(), 'acme/private-llm', {
    files: { 'config.json': files['config.json']!, 'w.safetensors': files['model-00002-of-00002.safetensors']! },
    private: true,
  })
  await writeRepo(hubRoot(), 'acme/gated-llm', { files: { 'config.json': files['config.json']! }, gated: 'manual' })
  await writeRepo(hubRoot(), 'datasets/acme/evals', { files: { 'data/train.jsonl': '{"x":1}\n', 'README.md': '# evals\n' } })
  await writeRepo(hubRoot(), 'acme/moving', { files: { 'config.json': '{"v":1}', 'w.safetensors': randomBytes(1 << 20) } })
  hub = await startHubEmulator({
    root: hubRoot(),
    pageSize: 3,
    tokens: { [GOOD]: { user: 'alice', access: ['acme/private-llm', 'acme/gated-llm'] }, [NO_ACCESS]: { user: 'bob', access: [] } },
  })
  registry = await startRegistry()
}, SLOW)

afterAll(async () => {
  await hub?.stop()
  await registry?.stop()
  await tmp?.cleanup()
})

let n = 0
async function recipe(source: string, base = `oci-layout:${fixtures.multiarch}:latest`): Promise<{ file: string; out: string }> {
  const dir = join(tmp.path, `run-${++n}`)
  await mkdir(dir, { recursive: true })
  const file = join(dir, 'recipe.yaml')
  await writeFile(file, `apiVersion: modelcar/v1\nbase: ${base}\nsources:\n${source}\nsinks:\n  - type: oci-layout\n    path: ./out\n`)
  return { file, out: join(dir, 'out') }
}

const hfEntry = (repo: string, extra = '') => `  - type: hf\n    repo: ${repo}\n    endpoint: ${hub.url}\n${extra}`

/** Without a token from the developer's own environment or token file. */
const env = (extra: Record<string, string> = {}) => {
  const e = cliEnv({ HF_HOME: join(tmp.path, 'no-hf-home') })
  delete e.HF_TOKEN
  delete e.HUGGING_FACE_HUB_TOKEN
  delete e.HF_ENDPOINT
  return { ...e, ...extra }
}

async function layerFiles(layout: string): Promise<Record<string, string>> {
  // The annotations say which file each layer holds; the content digest is the Hub's sha256 for LFS.
  const index = await readIndex(layout)
  const root = tagged(index)
  const top = await readJsonBlob(layout, root.digest)
  const manifestDesc = top.manifests ? top.manifests.find((m) => m.platform?.architecture === 'amd64')! : root
  const manifest = await readJsonBlob(layout, manifestDesc.digest)
  const out: Record<string, string> = {}
  for (const l of manifest.layers ?? []) {
    const title = l.annotations?.['org.opencontainers.image.title']
    if (title) out[title] = l.annotations?.['modelcar.origin'] ?? ''
  }
  return out
}

describe('source hf', () => {
  it(
    'mirrors a repo onto busybox: every file under /models with the Hub bytes, pushed and run',
    async () => {
      const { file, out } = await recipe(hfEntry('acme/tiny-llm', '    revision: main\n'))
      const result = await modelcar(['run', file], { env: env() })
      expect(result.code, result.stderr).toBe(0)
      const digest = printedDigest(result)

      const origins = await layerFiles(out)
      expect(Object.keys(origins).sort()).toEqual(Object.keys(files).sort())
      expect(origins['tokenizer/vocab.json']).toBe(`hf://acme/tiny-llm@${commit}/tokenizer/vocab.json`)
      const root = await readJsonBlob(out, digest)
      const amd = await readJsonBlob(out, root.manifests!.find((m) => m.platform?.architecture === 'amd64')!.digest)
      expect(amd.annotations?.['org.opencontainers.image.source']).toBe(`${hub.url}/acme/tiny-llm`)
      expect(amd.annotations?.['org.opencontainers.image.revision']).toBe(commit)
      // README.md is the model card by default
      const card = amd.layers!.find((l) => l.annotations?.['io.opendatahub.modelcar.layer.type'] === 'modelcard')
      expect(card?.annotations?.['org.opencontainers.image.title']).toBe('README.md')
      expect(amd.annotations?.['io.opendatahub.layers.modelcard']).toBe(card?.digest)
      // LFS files carry the Hub's sha256
      const weights = amd.layers!.find((l) => l.annotations?.['org.opencontainers.image.title'] === 'model-00001-of-00002.safetensors')
      expect(weights?.annotations?.['modelcar.content.digest']).toBe(`sha256:${sha(files['model-00001-of-00002.safetensors']!)}`)

      const ref = `${registry.host}/acme/tiny-llm:main`
      await skopeoCopyToRegistry(`${out}:latest`, ref)
      const listing = await podmanRun(ref, 'cd /models && find . -type f | sort | xargs sha256sum')
      const seen = Object.fromEntries(
        listing
          .trim()
          .split('\n')
          .map((l) => {
            const [h, p] = l.split(/\s+/)
            return [p!.replace(/^\.\//, ''), h]
          }),
      )
      expect(seen).toEqual(Object.fromEntries(Object.entries(files).map(([p, b]) => [p, sha(b)])))
    },
    SLOW,
  )

  it(
    'cut connections and rate limits change nothing in the result',
    async () => {
      const clean = await recipe(hfEntry('acme/tiny-llm'))
      const cleanDigest = printedDigest(await modelcar(['run', clean.file], { env: env() }))
      hub.requests.length = 0
      hub.setFaults({
        cutEveryFile: { fraction: 0.5, times: 2 },
        status: {
          'config.json': [
            { status: 429, retryAfter: 1 },
            { status: 503, retryAfter: 0 },
          ],
        },
      })
      try {
        const faulty = await recipe(hfEntry('acme/tiny-llm'))
        const result = await modelcar(['run', faulty.file], { env: env() })
        expect(result.code, result.stderr).toBe(0)
        expect(printedDigest(result)).toBe(cleanDigest)
        const cuts = hub.requests.filter((r) => r.cut)
        // every file with a body was cut at least once, and resumed with a Range from where it broke
        expect(new Set(cuts.map((r) => r.path.split('?')[0]!.split('/').pop())).size).toBeGreaterThanOrEqual(Object.keys(files).length - 1)
        expect(hub.requests.some((r) => r.range && /^bytes=[1-9]\d*-$/.test(r.range))).toBe(true)
        expect(hub.requests.filter((r) => r.status === 429 || r.status === 503)).toHaveLength(2)
      } finally {
        hub.setFaults({})
      }
    },
    SLOW,
  )

  it(
    'a 503 with Retry-After on a download is waited for once per engine retry, never source waits × engine retries',
    async () => {
      const { file } = await recipe(hfEntry('acme/tiny-llm', '    include: ["config.json"]\n'), 'scratch')
      const doc = await loadRecipe(file, { registry: createCoreRegistry().register(hfSource), env: {} })
      const run = async () => {
        const events: RunEvent[] = []
        const startedAt = Date.now()
        // noReuse: the second run goes to the same target, and must read the file again to meet the busy Hub.
        const outcome = await runRecipe(doc, {
          env: { HF_HOME: join(tmp.path, 'no-hf-home') },
          onEvent: (e) => events.push(e),
          noReuse: true,
        }).then(
          () => undefined,
          (err: unknown) => err as Error,
        )
        const gets = hub.requests.filter((r) => r.host === 'hub' && r.path.endsWith(`/resolve/${commit}/config.json`))
        return {
          outcome,
          ms: Date.now() - startedAt,
          retries: events.filter((e) => e.type === 'retry'),
          statuses: gets.map((r) => r.status),
        }
      }
      try {
        // Two busy answers asking for a second each: each open() is one request, and each wait is the engine's.
        hub.requests.length = 0
        hub.setFaults({
          status: {
            'hub:config.json': [
              { status: 503, retryAfter: 1 },
              { status: 503, retryAfter: 1 },
            ],
          },
        })
        const busy = await run()
        expect(busy.outcome).toBeUndefined()
        expect(busy.statuses).toEqual([503, 503, 200])
        expect(busy.retries).toHaveLength(2)
        expect(busy.ms).toBeGreaterThanOrEqual(2000)

        // A Hub that stays busy: the engine's tries in all (DEFAULT_RETRY_POLICY.attempts), not 5 waits inside each of them.
        hub.requests.length = 0
        hub.setFaults({ status: { 'hub:config.json': Array.from({ length: 40 }, () => ({ status: 503 as const, retryAfter: 0 })) } })
        const down = await run()
        expect(down.statuses).toEqual(Array.from({ length: DEFAULT_RETRY_POLICY.attempts }, () => 503))
        expect(down.retries).toHaveLength(DEFAULT_RETRY_POLICY.attempts - 1)
        expect(down.outcome).toMatchObject({
          retryable: false,
          component: 'hf',
          phase: 'open',
          http: { method: 'GET', status: 503 },
          message: expect.stringMatching(
            /^\[hf\] open failed: the Hub answered 503 for .*\/config\.json: Service Unavailable \[503, request id .*\] \(gave up after 5 tries\)$/,
          ),
        })
      } finally {
        hub.setFaults({})
      }
    },
    SLOW,
  )

  it(
    'a listing answered 503 is asked again by the same policy, and the run goes on',
    async () => {
      const { file } = await recipe(hfEntry('acme/tiny-llm', '    include: ["config.json"]\n'), 'scratch')
      hub.requests.length = 0
      hub.setFaults({
        api: [
          { status: 503, retryAfter: 0 },
          { status: 429, retryAfter: 0 },
        ],
      })
      try {
        const result = await modelcar(['run', file], { env: env() })
        expect(result.code, result.stderr).toBe(0)
        const api = hub.requests.filter((r) => r.path.startsWith('/api/'))
        expect(api.slice(0, 3).map((r) => [r.path.split('?')[0], r.status])).toEqual([
          [`/api/models/acme/tiny-llm/revision/main`, 503],
          [`/api/models/acme/tiny-llm/revision/main`, 429],
          [`/api/models/acme/tiny-llm/revision/main`, 200],
        ])
      } finally {
        hub.setFaults({})
      }
    },
    SLOW,
  )

  it(
    'a private repo: found with a token that never leaves the Hub origin nor reaches any output',
    async () => {
      const { file, out } = await recipe(hfEntry('acme/private-llm'))
      hub.requests.length = 0
      const result = await modelcar(['run', file, '--json'], { env: env({ HF_TOKEN: GOOD }) })
      expect(result.code, result.stderr).toBe(0)
      expect(`${result.stdout}${result.stderr}`).not.toContain(GOOD)
      expect(hub.requests.filter((r) => r.host === 'cdn').length).toBeGreaterThan(0)
      expect(hub.requests.filter((r) => r.host === 'cdn' && r.authorization)).toEqual([])
      expect(hub.requests.filter((r) => r.host === 'hub').every((r) => r.authorization)).toBe(true)
      for (const name of await readdir(join(out, 'blobs', 'sha256'))) {
        const st = await stat(join(out, 'blobs', 'sha256', name))
        if (st.size < 64 << 20) expect((await readFile(join(out, 'blobs', 'sha256', name))).includes(GOOD)).toBe(false)
      }
    },
    SLOW,
  )

  it(
    'a token from the hf CLI token file is found, used, and shown nowhere',
    async () => {
      const home = join(tmp.path, 'hf-home-with-token')
      await mkdir(home, { recursive: true })
      await writeFile(join(home, 'token'), `${GOOD}\n`)
      const { file } = await recipe(hfEntry('acme/private-llm'), 'scratch')
      const result = await modelcar(['run', file, '--json'], { env: { ...env(), HF_HOME: home } })
      expect(result.code, result.stdout).toBe(0)
      expect(`${result.stdout}${result.stderr}`).not.toContain(GOOD)
    },
    SLOW,
  )

  it.each([
    ['a private repo without a token', 'acme/private-llm', {}, /model `acme\/private-llm` was not found, or it is private/, /give a token/],
    ['a missing repo', 'acme/nope', { HF_TOKEN: GOOD }, /was not found, or it is private/, /check the name/],
    [
      'a gated repo without a token',
      'acme/gated-llm',
      {},
      /model `acme\/gated-llm` is gated: it needs a token with access/,
      /request access at .*acme\/gated-llm/,
    ],
    [
      'a gated repo with a token lacking access',
      'acme/gated-llm',
      { HF_TOKEN: NO_ACCESS },
      /is gated: the token from HF_TOKEN has no access/,
      /request access/,
    ],
    ['a token that is not a Hub token', 'acme/tiny-llm', { HF_TOKEN: 'ghp_notahubtoken' }, /not a Hugging Face token/, /settings\/tokens/],
  ])(
    '%s: a clear error, exit 2, nothing written, no token shown',
    async (_what, repo, extraEnv, message, hint) => {
      const { file, out } = await recipe(hfEntry(repo))
      const result = await modelcar(['run', file], { env: env(extraEnv) })
      expect(result.code, result.stderr).toBe(2)
      expect(result.stderr).toMatch(message)
      expect(result.stderr).toMatch(hint)
      for (const secret of [GOOD, NO_ACCESS, 'ghp_notahubtoken']) expect(`${result.stdout}${result.stderr}`).not.toContain(secret)
      await expect(stat(out)).rejects.toThrow()
    },
    SLOW,
  )

  it.each([
    ['a missing revision', '    revision: does-not-exist\n', /revision `does-not-exist` does not exist in model `acme\/tiny-llm`/],
    [
      'an include pattern that matches nothing',
      '    include: ["*.safetensors", "*.gguf"]\n',
      /no file in model `acme\/tiny-llm` at `main` matches `\*\.gguf`[\s\S]*there are 8 files, e\.g\. `README\.md`/,
    ],
  ])(
    '%s: a clear error, exit 2, nothing written',
    async (_what, extra, message) => {
      const { file, out } = await recipe(hfEntry('acme/tiny-llm', extra))
      const result = await modelcar(['run', file], { env: env() })
      expect(result.code, result.stderr).toBe(2)
      expect(result.stderr).toMatch(message)
      await expect(stat(out)).rejects.toThrow()
    },
    SLOW,
  )

  it(
    'a dataset repo, with include and into',
    async () => {
      const { file, out } = await recipe(hfEntry('datasets/acme/evals', '    include: ["data/**"]\n    into: evals\n'), 'scratch')
      const result = await modelcar(['run', file], { env: env() })
      expect(result.code, result.stderr).toBe(0)
      expect(Object.keys(await layerFiles(out))).toEqual(['evals/data/train.jsonl'])
    },
    SLOW,
  )

  it(
    'the revision is pinned: a push to main mid-run does not mix two revisions',
    async () => {
      const first = await recipe(hfEntry('acme/moving'), 'scratch')
      const before = await readFile(join(hubRoot(), 'models', 'acme', 'moving', 'repo.json'), 'utf8')
      const recipeDoc = await loadRecipe(first.file, { registry: createCoreRegistry().register(hfSource), env: {} })
      let moved = false
      const onEvent = (e: RunEvent) => {
        if (e.type === 'layer-start' && !moved) {
          moved = true
          void addCommit(hubRoot(), 'acme/moving', { 'config.json': '{"v":2}', 'w.safetensors': randomBytes(1 << 20) }, { ref: 'main' })
        }
      }
      const result = await runRecipe(recipeDoc, { env: { HF_HOME: join(tmp.path, 'no-hf-home') }, onEvent, concurrency: 1 })
      expect(moved).toBe(true)
      expect(await readFile(join(hubRoot(), 'models', 'acme', 'moving', 'repo.json'), 'utf8')).not.toBe(before)
      const pinned = JSON.parse(before).refs.main as string
      const manifest = await readJsonBlob(first.out, result.digest!)
      expect(manifest.annotations?.['org.opencontainers.image.revision']).toBe(pinned)
      for (const l of manifest.layers ?? []) expect(l.annotations?.['modelcar.origin']).toContain(`@${pinned}/`)
    },
    SLOW,
  )

  it(
    'a file over 2 GiB streams through with its sha256 checked',
    async () => {
      const size = 2 * 1024 ** 3 + 4099
      await writeRepo(hubRoot(), 'acme/big', { files: { 'big.safetensors': { sparseSize: size } } })
      const { file, out } = await recipe(hfEntry('acme/big'), 'scratch')
      const result = await modelcar(['run', file], { env: env() })
      expect(result.code, result.stderr).toBe(0)
      const manifest = await readJsonBlob(out, printedDigest(result))
      const layer = manifest.layers![0]!
      expect(layer.annotations?.['org.opencontainers.image.title']).toBe('big.safetensors')
      // sha256 of `size` zero bytes, computed here, equals what the Hub announced and what was checked
      const zeros = createHash('sha256')
      const block = Buffer.alloc(1 << 20)
      for (let left = size; left > 0; left -= block.length) zeros.update(left >= block.length ? block : block.subarray(0, left))
      expect(layer.annotations?.['modelcar.content.digest']).toBe(`sha256:${zeros.digest('hex')}`)
      const config = await readJsonBlob<ImageConfig>(out, manifest.config!.digest)
      expect(config.rootfs.diff_ids).toEqual([layer.digest])
      // the layer's bytes hash to its digest
      const h = createHash('sha256')
      for await (const c of createReadStream(join(out, 'blobs', 'sha256', layer.digest.slice(7)))) h.update(c as Buffer)
      expect(`sha256:${h.digest('hex')}`).toBe(layer.digest)
    },
    SLOW,
  )
})
