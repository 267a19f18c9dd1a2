// Issue 15, keyless: `sign.keyless: true` signs with the run's OIDC identity (SIGSTORE_ID_TOKEN)
// against Fulcio and Rekor (@sigstore/mock's, started here), and the image carries a Sigstore
// bundle referrer that @sigstore/verify accepts against the mock's trusted root for that identity
// and issuer, its statement naming the image digest. `modelcar verify` with the keyless flags
// agrees, and refuses another identity. The token shows nowhere.
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { bundleFromJSON } from '@sigstore/bundle'
import { TrustedRoot } from '@sigstore/protobuf-specs'
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRegistry, type Registry } from '../../tools/harness/registry.js'
import { tempDir, type TempDir } from '../../tools/harness/temp.js'
import { assertCliBuilt, cliEnv, modelcar, mustModelcar, printedDigest } from '../e2e/support.js'
import { identityToken, startSigstoreServices, type SigstoreServices } from './sigstore-services.js'
import { allBytes, RegistryReader, writeLicensedModel } from './support.js'

const SLOW = 180_000
const BUNDLE = 'application/vnd.dev.sigstore.bundle.v0.3+json'
const IDENTITY = 'ci@example.com'
const ISSUER = 'https://issuer.example'

let work: TempDir
let registry: Registry
let sigstore: SigstoreServices
let recipe: string
let rootFile: string
const token = identityToken({ iss: ISSUER, email: IDENTITY })

beforeAll(async () => {
  await assertCliBuilt()
  work = await tempDir('supply-chain-keyless')
  registry = await startRegistry()
  sigstore = await startSigstoreServices()
  const model = join(work.path, 'model')
  await writeLicensedModel(model, 1 << 20)
  rootFile = join(work.path, 'trusted_root.json')
  await writeFile(rootFile, JSON.stringify(sigstore.trustedRoot))
  const dir = join(work.path, 'keyless')
  await mkdir(dir)
  recipe = join(dir, 'recipe.yaml')
  await writeFile(
    recipe,
    [
      'apiVersion: modelcar/v1',
      'sources:',
      '  - type: local',
      `    path: ${JSON.stringify(model)}`,
      'transforms:',
      '  - type: modelcard',
      '    file: README.md',
      'attach:',
      '  sbom: cyclonedx',
      '  provenance: true',
      'sign:',
      '  keyless: true',
      `  fulcioUrl: ${sigstore.url}`,
      `  rekorUrl: ${sigstore.url}`,
      'sinks:',
      '  - type: registry',
      `    ref: ${registry.host}/keyless/model:v1`,
      '  - type: oci-layout',
      '    path: ./out',
      '',
    ].join('\n'),
  )
}, SLOW)

afterAll(async () => {
  await sigstore?.stop()
  await registry?.stop()
  await work?.cleanup()
})

describe('keyless signing', () => {
  it(
    'a Sigstore bundle referrer that @sigstore/verify accepts against the mock trust root for the identity and issuer, naming the image digest; modelcar verify agrees and refuses another identity; the token shows nowhere',
    async () => {
      const run = await mustModelcar(['run', recipe, '--no-cache'], { env: cliEnv({ SIGSTORE_ID_TOKEN: token }) })
      const digest = printedDigest(run)
      expect(sigstore.requests).toContain('POST /api/v2/signingCert')
      expect(sigstore.requests).toContain('POST /api/v1/log/entries')

      const reg = new RegistryReader(registry.url, 'keyless/model')
      const referrers = (await reg.manifest(`sha256-${digest.slice(7)}`))!.doc.manifests!
      expect(referrers.map((r) => r.artifactType).sort()).toEqual([
        'application/vnd.cyclonedx+json',
        BUNDLE,
        'application/vnd.in-toto+json',
      ])
      const verifier = new Verifier(toTrustMaterial(TrustedRoot.fromJSON(sigstore.trustedRoot)))
      for (const ref of referrers.filter((r) => r.artifactType !== 'application/vnd.cyclonedx+json')) {
        const manifest = (await reg.manifest(ref.digest))!.doc
        expect(manifest.subject?.digest).toBe(digest)
        expect(manifest.layers[0]!.mediaType).toBe(BUNDLE)
        const bundle = bundleFromJSON(JSON.parse((await reg.blob(manifest.layers[0]!.digest)).toString('utf8')))
        const signer = verifier.verify(toSignedEntity(bundle), { subjectAlternativeName: IDENTITY, extensions: { issuer: ISSUER } })
        expect(signer.identity?.subjectAlternativeName).toBe(IDENTITY)
        // The check can fail: another identity is refused.
        expect(() => verifier.verify(toSignedEntity(bundle), { subjectAlternativeName: 'someone@example.com' })).toThrow(/identity/)
        if (bundle.content.$case !== 'dsseEnvelope') throw new Error('a DSSE bundle was expected')
        const statement = JSON.parse(bundle.content.dsseEnvelope.payload.toString('utf8')) as {
          subject: { digest: { sha256: string } }[]
          predicateType: string
        }
        expect(statement.subject.map((s) => s.digest.sha256)).toEqual([digest.slice(7)])
        expect(statement.predicateType).toBe(
          ref.artifactType === BUNDLE ? 'https://sigstore.dev/cosign/sign/v1' : 'https://slsa.dev/provenance/v1',
        )
      }

      const flags = ['--certificate-identity', IDENTITY, '--certificate-oidc-issuer', ISSUER, '--trusted-root', rootFile]
      for (const target of [`registry:${registry.host}/keyless/model:v1`, `oci-layout:${join(work.path, 'keyless', 'out')}:latest`]) {
        const ok = await mustModelcar(['verify', target, ...flags])
        expect(ok.stdout).toMatch(/signature\s+verified/)
        expect(ok.stdout).toMatch(/provenance\s+verified/)
      }
      const other = await modelcar([
        'verify',
        `registry:${registry.host}/keyless/model:v1`,
        '--certificate-identity',
        'someone@example.com',
        '--certificate-oidc-issuer',
        ISSUER,
        '--trusted-root',
        rootFile,
      ])
      expect(other.code, other.stderr).toBe(1)
      expect(other.stderr).toContain('has no signature for `someone@example.com`')

      const attachments = await Promise.all(
        referrers.map(async (r) => (await reg.blob((await reg.manifest(r.digest))!.doc.layers[0]!.digest)).toString('latin1')),
      )
      const places = {
        'run output': run.stdout + run.stderr,
        'the layout': (await allBytes(join(work.path, 'keyless', 'out'))).toString('latin1'),
        'the registry attachments': attachments.join(''),
      }
      for (const [where, text] of Object.entries(places))
        expect(text.includes(token.split('.')[1]!), `${where} holds the token`).toBe(false)
    },
    SLOW,
  )

  it(
    'without an identity token the run stops before any byte moves, exit 2',
    async () => {
      const env = cliEnv()
      delete env.SIGSTORE_ID_TOKEN
      delete env.ACTIONS_ID_TOKEN_REQUEST_URL
      const r = await modelcar(['run', recipe, '--no-cache'], { env })
      expect(r.code, r.stderr).toBe(2)
      expect(r.stderr).toContain('keyless signing needs an OIDC identity token')
    },
    SLOW,
  )
})
