// Issue 15, key-based: a run with `attach` (SBOM, provenance) and `sign.key` pushes to a real
// registry (docker-registry) and writes an image layout. The checks use no modelcar code: the
// signature verifies with `openssl dgst -sha256 -verify` over the payload cosign would sign, the
// SBOM lists every file with the digest `sha256sum` gives, the provenance's subject is the image
// digest (its DSSE signature checked by openssl too). skopeo's and oras' copies carry the
// attachments (oras is the strict stand-in of test/shell-sinks: no Debian package), umoci still
// unpacks the layout. `modelcar verify` accepts the image and refuses a tampered signature and
// another image's; a cosign key file opens with COSIGN_PASSWORD, and neither the key nor the
// password shows anywhere.
import { generateKeyPairSync } from 'node:crypto'
import { chmod, cp, mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pemBlock, sealCosignKey } from '@modelcar/core'
import { buildFixtures, type FixturePaths } from '../../tools/fixtures/build-fixtures.mjs'
import { startRegistry, type Registry } from '../../tools/harness/registry.js'
import { tempDir, type TempDir } from '../../tools/harness/temp.js'
import { mustRun, umociUnpack } from '../../tools/harness/tools.js'
import { assertCliBuilt, cliEnv, modelcar, mustModelcar, printedDigest, readIndex, readJsonBlob, readBlob } from '../e2e/support.js'
import { allBytes, opensslVerifies, RegistryReader, sha256sums, writeLicensedModel, type Manifest } from './support.js'

const SLOW = 180_000
const PASSWORD = 'pw-cosign-never-shown-7731'
const CYCLONEDX = 'application/vnd.cyclonedx+json'
const IN_TOTO = 'application/vnd.in-toto+json'
const DSSE = 'application/vnd.dsse.envelope.v1+json'

let work: TempDir
let fixtures: FixturePaths
let registry: Registry
let modelDir: string
let recipeDir: string
let publicKey: string
let digest: string
let orasLog: string

beforeAll(async () => {
  await assertCliBuilt()
  work = await tempDir('supply-chain-key')
  fixtures = await buildFixtures(join(work.path, 'fixtures'))
  registry = await startRegistry()
  modelDir = join(work.path, 'model')
  await writeLicensedModel(modelDir)
  recipeDir = join(work.path, 'signed')
  await mkdir(recipeDir)
  await mustRun('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', join(recipeDir, 'signing.key')])
  publicKey = (await mustRun('openssl', ['pkey', '-in', join(recipeDir, 'signing.key'), '-pubout'])).stdout
  await writeFile(join(recipeDir, 'signing.pub'), publicKey)
  await writeRecipe(recipeDir, { key: './signing.key', repo: 'sc/model:v1', layout: './out', skopeo: 'sc/skopeo:v1', oras: 'sc/oras:v1' })
  // `oras` on PATH is test/shell-sinks' stand-in, run by this very node.
  const bin = join(work.path, 'bin')
  await mkdir(bin)
  await writeFile(
    join(bin, 'oras'),
    `#!/bin/sh\nexec '${process.execPath}' '${join(import.meta.dirname, '..', 'shell-sinks', 'fake-oras.mjs')}' "$@"\n`,
  )
  await chmod(join(bin, 'oras'), 0o755)
  orasLog = join(work.path, 'oras.log')
  const env = cliEnv({ PATH: `${bin}:${process.env.PATH ?? ''}`, FAKE_ORAS_LOG: orasLog })
  digest = printedDigest(await mustModelcar(['run', join(recipeDir, 'recipe.yaml'), '--no-cache'], { env }))
}, SLOW)

afterAll(async () => {
  await registry?.stop()
  await work?.cleanup()
})

async function writeRecipe(
  dir: string,
  o: { key: string; repo: string; layout: string; skopeo?: string; oras?: string; model?: string },
): Promise<void> {
  await writeFile(
    join(dir, 'recipe.yaml'),
    [
      'apiVersion: modelcar/v1',
      `base: ${JSON.stringify(`oci-layout:${fixtures.multiarch}:latest`)}`,
      'sources:',
      '  - type: local',
      `    path: ${JSON.stringify(o.model ?? modelDir)}`,
      'transforms:',
      '  - type: modelcard',
      '    file: README.md',
      'attach:',
      '  sbom: cyclonedx',
      '  provenance: true',
      'sign:',
      `  key: ${o.key}`,
      'sinks:',
      '  - type: registry',
      `    ref: ${registry.host}/${o.repo}`,
      ...(o.skopeo ? ['  - type: skopeo', `    ref: ${registry.host}/${o.skopeo}`] : []),
      ...(o.oras ? ['  - type: oras', `    ref: ${registry.host}/${o.oras}`] : []),
      '  - type: oci-layout',
      `    path: ${o.layout}`,
      '',
    ].join('\n'),
  )
}

/** The simple-signing payloads at `sha256-<hex>.sig` with their signatures, and what each names. */
function signatures(sig: Manifest): { digest: string; signature: string }[] {
  return sig.layers
    .filter((l) => l.mediaType === 'application/vnd.dev.cosign.simplesigning.v1+json')
    .map((l) => ({ digest: l.digest, signature: l.annotations?.['dev.cosignproject.cosign/signature'] ?? '' }))
}

/** DSSE's pre-authentication encoding, written out from the spec (not modelcar's). */
function pae(type: string, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(type)} ${type} ${body.byteLength} `), body])
}

interface Bom {
  metadata: { component: { type: string; name: string; licenses?: { license?: { id: string } }[] } }
  components: { type: string; name: string; version?: string; hashes?: { alg: string; content: string }[] }[]
}

/** The files a CycloneDX document lists, name → SHA-256 hex. */
function bomFiles(bom: Bom): Map<string, string> {
  return new Map(bom.components.filter((c) => c.type === 'file').map((c) => [c.name, c.hashes!.find((h) => h.alg === 'SHA-256')!.content]))
}

describe('a signed run to docker-registry', () => {
  it(
    'the signature verifies with openssl over the payload naming the image digest; the SBOM lists every file with the sha256 sha256sum gives; the provenance names the image',
    async () => {
      const reg = new RegistryReader(registry.url, 'sc/model')
      expect((await reg.manifest('v1'))!.digest).toBe(digest)
      const hex = digest.slice('sha256:'.length)

      const sig = await reg.manifest(`sha256-${hex}.sig`)
      expect(sig, 'cosign signature tag').toBeDefined()
      const sigs = signatures(sig!.doc)
      expect(sigs).toHaveLength(1)
      const payload = await reg.blob(sigs[0]!.digest)
      expect(JSON.parse(payload.toString('utf8'))).toEqual({
        critical: {
          identity: { 'docker-reference': `${registry.host}/sc/model` },
          image: { 'docker-manifest-digest': digest },
          type: 'cosign container image signature',
        },
        optional: null,
      })
      expect(await opensslVerifies(join(work.path, 'openssl-reg'), publicKey, payload, sigs[0]!.signature)).toBe(true)
      // The check can fail: the same signature over other bytes does not verify.
      expect(
        await opensslVerifies(join(work.path, 'openssl-reg2'), publicKey, Buffer.concat([payload, Buffer.from(' ')]), sigs[0]!.signature),
      ).toBe(false)

      // distribution 2.8 has no referrers API: the fallback tag lists them.
      expect((await fetch(`${registry.url}/v2/sc/model/referrers/${digest}`)).status).toBe(404)
      const referrers = (await reg.manifest(`sha256-${hex}`))!.doc.manifests!
      expect(referrers.map((r) => r.artifactType).sort()).toEqual([CYCLONEDX, IN_TOTO])

      const sbomManifest = (await reg.manifest(referrers.find((r) => r.artifactType === CYCLONEDX)!.digest))!.doc
      expect(sbomManifest.subject?.digest).toBe(digest)
      expect(sbomManifest.artifactType).toBe(CYCLONEDX)
      const bom = JSON.parse((await reg.blob(sbomManifest.layers[0]!.digest)).toString('utf8')) as Bom
      expect(bomFiles(bom)).toEqual(await sha256sums(modelDir))
      expect(bom.metadata.component).toMatchObject({ type: 'machine-learning-model', licenses: [{ license: { id: 'Apache-2.0' } }] })
      const baseIndex = tagged(await readIndex(fixtures.multiarch))
      expect(bom.components.find((c) => c.type === 'container')?.version).toBe(baseIndex)

      const provManifest = (await reg.manifest(referrers.find((r) => r.artifactType === IN_TOTO)!.digest))!.doc
      expect(provManifest.subject?.digest).toBe(digest)
      expect(provManifest.layers[0]!.mediaType).toBe(DSSE)
      const envelope = JSON.parse((await reg.blob(provManifest.layers[0]!.digest)).toString('utf8')) as {
        payloadType: string
        payload: string
        signatures: { sig: string }[]
      }
      const statementBytes = Buffer.from(envelope.payload, 'base64')
      expect(
        await opensslVerifies(
          join(work.path, 'openssl-dsse'),
          publicKey,
          pae(envelope.payloadType, statementBytes),
          envelope.signatures[0]!.sig,
        ),
      ).toBe(true)
      const statement = JSON.parse(statementBytes.toString('utf8')) as {
        subject: { digest: { sha256: string } }[]
        predicateType: string
        predicate: { buildDefinition: { resolvedDependencies: { name?: string; digest: Record<string, string> }[] } }
      }
      expect(statement.subject.map((s) => s.digest.sha256)).toEqual([hex])
      expect(statement.predicateType).toBe('https://slsa.dev/provenance/v1')
      const deps = statement.predicate.buildDefinition.resolvedDependencies
      const recipeSum = (await sha256sums(recipeDir)).get('recipe.yaml')
      expect(deps.find((d) => d.name === 'recipe')?.digest.sha256).toBe(recipeSum)
      expect(deps.find((d) => d.name === 'base')?.digest.sha256).toBe(baseIndex.slice('sha256:'.length))
    },
    SLOW,
  )

  it(
    'the same in the image layout: signature tag and referrers in index.json, checked with openssl and sha256sum; skopeo and umoci still read the image',
    async () => {
      const layout = join(recipeDir, 'out')
      const index = await readIndex(layout)
      expect(tagged(index)).toBe(digest)
      const hex = digest.slice('sha256:'.length)
      const sig = await readJsonBlob<Manifest>(layout, tagged(index, `sha256-${hex}.sig`))
      for (const s of signatures(sig))
        expect(await opensslVerifies(join(work.path, 'openssl-layout'), publicKey, await readBlob(layout, s.digest), s.signature)).toBe(
          true,
        )
      const referrers = index.manifests!.filter((m: { artifactType?: string }) => m.artifactType)
      expect(referrers.map((r: { artifactType?: string }) => r.artifactType).sort()).toEqual([CYCLONEDX, IN_TOTO])
      for (const r of referrers) expect((await readJsonBlob<Manifest>(layout, r.digest)).subject?.digest).toBe(digest)
      const sbom = await readJsonBlob<Manifest>(
        layout,
        referrers.find((r: { artifactType?: string }) => r.artifactType === CYCLONEDX)!.digest,
      )
      expect(bomFiles(JSON.parse((await readBlob(layout, sbom.layers[0]!.digest)).toString('utf8')) as Bom)).toEqual(
        await sha256sums(modelDir),
      )
      // skopeo reads the layout with its attachments; umoci unpacks the amd64 image it picks (umoci takes one platform).
      const single = join(work.path, 'single')
      await mustRun('skopeo', [
        'copy',
        '--override-arch',
        'amd64',
        '--override-os',
        'linux',
        `oci:${layout}:latest`,
        `oci:${single}:latest`,
      ])
      const rootfs = await umociUnpack(`${single}:latest`, join(work.path, 'bundle'))
      expect(await readFile(join(rootfs, 'models', 'config.json'), 'utf8')).toBe(await readFile(join(modelDir, 'config.json'), 'utf8'))
    },
    SLOW,
  )

  it.each(['skopeo', 'oras'])(
    '%s copies the attachments too: modelcar verify accepts the copy',
    async (tool) => {
      const reg = new RegistryReader(registry.url, `sc/${tool}`)
      expect((await reg.manifest('v1'))!.digest).toBe(digest)
      const hex = digest.slice('sha256:'.length)
      const payload = await reg.blob(signatures((await reg.manifest(`sha256-${hex}.sig`))!.doc)[0]!.digest)
      expect(JSON.parse(payload.toString('utf8')).critical.identity['docker-reference']).toBe(`${registry.host}/sc/${tool}`)
      const referrers = (await reg.manifest(`sha256-${hex}`))!.doc.manifests!
      expect(referrers.map((r) => r.artifactType).sort()).toEqual([CYCLONEDX, IN_TOTO])
      const verified = await mustModelcar(['verify', `registry:${registry.host}/sc/${tool}:v1`, '--key', join(recipeDir, 'signing.pub')])
      expect(verified.stdout).toMatch(/signature\s+verified/)
      if (tool === 'oras') {
        // The tool copied each attachment itself: by digest, and the signature to its tag.
        const calls = (await readFile(orasLog, 'utf8'))
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as string[])
        const destinations = calls.filter((c) => c[0] === 'cp').map((c) => c.at(-1))
        for (const r of referrers) expect(destinations).toContain(`${registry.host}/sc/oras@${r.digest}`)
        expect(destinations).toContain(`${registry.host}/sc/oras:sha256-${hex}.sig`)
      }
    },
    SLOW,
  )
})

describe('modelcar verify', () => {
  const pub = () => join(recipeDir, 'signing.pub')

  it(
    'accepts the image in the registry and in the layout, and lists its attachments',
    async () => {
      const r = await mustModelcar(['verify', `registry:${registry.host}/sc/model:v1`, '--key', pub(), '--json'])
      const report = JSON.parse(r.stdout.trim()) as { digest: string; attachments: { what: string; status: string }[] }
      expect(report.digest).toBe(digest)
      expect(report.attachments.map((a) => `${a.what}:${a.status}`).sort()).toEqual([
        'provenance:verified',
        'sbom:unsigned',
        'signature:verified',
      ])
      const local = await mustModelcar(['verify', `oci-layout:${join(recipeDir, 'out')}:latest`, '--key', pub()])
      expect(local.stdout).toContain(digest)
    },
    SLOW,
  )

  it(
    'exits 1 on a tampered signature, on another image’s signature and with another key; 2 on bad arguments',
    async () => {
      const reg = new RegistryReader(registry.url, 'sc/model')
      const hex = digest.slice('sha256:'.length)
      const sigTag = `sha256-${hex}.sig`
      const original = (await reg.manifest(sigTag))!
      const tampered = structuredClone(original.doc)
      const annotations = tampered.layers[0]!.annotations!
      const bytes = Buffer.from(annotations['dev.cosignproject.cosign/signature']!, 'base64')
      bytes[bytes.length - 2]! ^= 0x01
      annotations['dev.cosignproject.cosign/signature'] = bytes.toString('base64')
      await reg.put(sigTag, Buffer.from(JSON.stringify(tampered)), original.doc.mediaType!)
      try {
        const r = await modelcar(['verify', `registry:${registry.host}/sc/model:v1`, '--key', pub()])
        expect(r.code, r.stderr).toBe(1)
        expect(r.stderr).toMatch(/has no signature with the key .*signing\.pub/)
      } finally {
        await reg.put(sigTag, original.bytes, original.doc.mediaType!)
      }
      expect((await modelcar(['verify', `registry:${registry.host}/sc/model:v1`, '--key', pub()])).code).toBe(0)

      // Another image (another model) in the same repository, given the first image's signature.
      const other = join(work.path, 'other')
      await mkdir(other)
      await cp(modelDir, join(other, 'model'), { recursive: true })
      await writeFile(join(other, 'model', 'extra.txt'), 'another image\n')
      await cp(join(recipeDir, 'signing.key'), join(other, 'signing.key'))
      await writeRecipe(other, { key: './signing.key', repo: 'sc/model:v2', layout: './out', model: join(other, 'model') })
      const second = printedDigest(await mustModelcar(['run', join(other, 'recipe.yaml'), '--no-cache']))
      expect(second).not.toBe(digest)
      await reg.put(`sha256-${second.slice('sha256:'.length)}.sig`, original.bytes, original.doc.mediaType!)
      const foreign = await modelcar(['verify', `registry:${registry.host}/sc/model:v2`, '--key', pub()])
      expect(foreign.code, foreign.stderr).toBe(1)
      expect(foreign.stderr).toContain(`the signature at \`sha256-${second.slice(7)}.sig\` is another image's: it names \`${digest}\``)

      // A key that did not sign it.
      const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString()
      await writeFile(join(work.path, 'stranger.pub'), stranger)
      const wrongKey = await modelcar(['verify', `registry:${registry.host}/sc/model:v1`, '--key', join(work.path, 'stranger.pub')])
      expect(wrongKey.code, wrongKey.stderr).toBe(1)
      expect(wrongKey.stderr).toMatch(/has no signature with the key/)

      for (const args of [
        [`registry:${registry.host}/sc/model:v1`],
        [`registry:${registry.host}/sc/model:v1`, '--key', join(work.path, 'missing.pub')],
        [`registry:${registry.host}/sc/model:v1`, '--key', pub(), '--certificate-identity', 'me@example.com'],
        [`registry:${registry.host}/sc/model:v1`, '--certificate-identity', 'me@example.com'],
        ['--key', pub()],
      ]) {
        const r = await modelcar(['verify', ...args])
        expect(r.code, `verify ${args.join(' ')}: ${r.stderr}`).toBe(2)
      }
    },
    SLOW,
  )
})

describe('a cosign key file', () => {
  it(
    'opens with COSIGN_PASSWORD; the signature verifies with openssl; no key or password in any output or in the image; a wrong password exits 2 without showing it',
    async () => {
      const dir = join(work.path, 'cosign')
      await mkdir(dir)
      const { privateKey, publicKey: pub } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      const der = privateKey.export({ type: 'pkcs8', format: 'der' })
      await writeFile(join(dir, 'cosign.key'), pemBlock('ENCRYPTED SIGSTORE PRIVATE KEY', sealCosignKey(der, PASSWORD)))
      const pubPem = pub.export({ type: 'spki', format: 'pem' }).toString()
      await writeFile(join(dir, 'cosign.pub'), pubPem)
      await writeRecipe(dir, { key: './cosign.key', repo: 'sc/cosign:v1', layout: './out' })
      const secrets = [PASSWORD, der.toString('base64').slice(20, 60), der.toString('hex').slice(40, 100)]
      const env = cliEnv({ COSIGN_PASSWORD: PASSWORD })

      const plain = await mustModelcar(['run', join(dir, 'recipe.yaml'), '--no-cache'], { env })
      const json = await mustModelcar(['run', join(dir, 'recipe.yaml'), '--no-cache', '--json'], { env })
      const d = printedDigest(plain)
      const reg = new RegistryReader(registry.url, 'sc/cosign')
      const sig = signatures((await reg.manifest(`sha256-${d.slice(7)}.sig`))!.doc)
      expect(sig).toHaveLength(1) // the second run added no second signature
      expect(await opensslVerifies(join(work.path, 'openssl-cosign'), pubPem, await reg.blob(sig[0]!.digest), sig[0]!.signature)).toBe(true)
      expect((await mustModelcar(['verify', `registry:${registry.host}/sc/cosign:v1`, '--key', join(dir, 'cosign.pub')])).code).toBe(0)

      const layoutBytes = await allBytes(join(dir, 'out'))
      const registryBytes = Buffer.concat(
        await Promise.all(
          [...(await reg.manifest(`sha256-${d.slice(7)}`))!.doc.manifests!.map((m) => m.digest), `sha256-${d.slice(7)}.sig`].map(
            async (ref) => {
              const m = (await reg.manifest(ref))!
              return Buffer.concat([m.bytes, ...(await Promise.all(m.doc.layers.map((l) => reg.blob(l.digest))))])
            },
          ),
        ),
      )
      for (const secret of secrets) {
        for (const [what, text] of [
          ['run output', plain.stdout + plain.stderr],
          ['--json output', json.stdout + json.stderr],
          ['the layout', layoutBytes.toString('latin1')],
          ['the registry attachments', registryBytes.toString('latin1')],
        ] as const)
          expect(text.includes(secret), `${what} holds a secret`).toBe(false)
      }

      const wrong = await modelcar(['run', join(dir, 'recipe.yaml'), '--no-cache'], {
        env: cliEnv({ COSIGN_PASSWORD: 'not-the-password-5521' }),
      })
      expect(wrong.code, wrong.stderr).toBe(2)
      expect(wrong.stderr).toContain('COSIGN_PASSWORD does not open it')
      expect(wrong.stderr).not.toContain('not-the-password-5521')
      const none = await modelcar(['run', join(dir, 'recipe.yaml'), '--no-cache'], { env: cliEnv() })
      expect(none.code, none.stderr).toBe(2)
      expect(none.stderr).toContain('set COSIGN_PASSWORD')
    },
    SLOW,
  )
})

/** The digest index.json tags `tag`. */
function tagged(index: { manifests?: { digest: string; annotations?: Record<string, string> }[] }, tag = 'latest'): string {
  const hit = index.manifests?.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag)
  if (!hit) throw new Error(`no tag ${tag}`)
  return hit.digest
}
