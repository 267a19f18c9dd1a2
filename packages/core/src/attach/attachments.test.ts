import { generateKeyPairSync } from 'node:crypto'
import { mkdtemp } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { ImageLayout, emptyIndex } from '../image/image-layout.js'
import { encodeJson, sha256Digest } from '../oci/digest.js'
import { MediaType } from '../oci/media-types.js'
import type { Descriptor, ImageManifest } from '../oci/types.js'
import { signingKey } from '../sign/signing-key.js'
import { buildAttachments } from './build-attachments.js'
import { cycloneDxSbom } from './cyclonedx-sbom.js'
import { attachToLayout, layoutAttachedImage } from './layout-attachments.js'
import { holdsReferrer, referrerEntry } from './referrer-manifest.js'
import type { RunFacts } from './run-facts.js'
import { signatureImage } from './signature-image.js'

const configBytes = encodeJson({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } })
const manifestBytes = encodeJson({
  schemaVersion: 2,
  mediaType: MediaType.ociManifest,
  config: { mediaType: MediaType.ociConfig, digest: sha256Digest(configBytes), size: configBytes.byteLength },
  layers: [],
})
const image: Descriptor = { mediaType: MediaType.ociManifest, digest: sha256Digest(manifestBytes), size: manifestBytes.byteLength }

function facts(over: Partial<RunFacts> = {}): RunFacts {
  return {
    image,
    prefix: 'models',
    files: [
      { target: 'config.json', size: 7, digest: `sha256:${'1'.repeat(64)}`, origin: 'hf://acme/tiny@' + 'c'.repeat(40) + '/config.json' },
      { target: 'w.safetensors', size: 9, digest: `sha256:${'2'.repeat(64)}` },
    ],
    annotations: {
      'modelcar.hf.repo': 'acme/tiny',
      'org.opencontainers.image.source': 'https://huggingface.co/acme/tiny',
      'org.opencontainers.image.revision': 'c'.repeat(40),
    },
    base: { name: 'registry:quay.io/org/busybox:1.36', digest: `sha256:${'3'.repeat(64)}`, reference: 'quay.io/org/busybox:1.36' },
    licenses: ['Apache-2.0'],
    recipe: { name: 'recipe.yaml', digest: `sha256:${'4'.repeat(64)}` },
    builder: { id: 'urn:modelcar:builder', version: '0.1.0' },
    created: undefined,
    ...over,
  }
}

const key = () => signingKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'test')

describe('the CycloneDX SBOM', () => {
  it('the model as a machine-learning-model, every file with its SHA-256 and origin, the base as a container; same facts, same bytes', () => {
    const bom = JSON.parse(Buffer.from(cycloneDxSbom(facts())).toString('utf8')) as {
      specVersion: string
      serialNumber: string
      metadata: { component: Record<string, unknown>; timestamp?: string }
      components: {
        type: string
        name: string
        hashes?: { alg: string; content: string }[]
        purl?: string
        externalReferences?: { url: string }[]
      }[]
      dependencies: { ref: string; dependsOn: string[] }[]
    }
    expect(bom.specVersion).toBe('1.6')
    expect(bom.serialNumber).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(bom.metadata.timestamp).toBeUndefined()
    expect(bom.metadata.component).toMatchObject({
      type: 'machine-learning-model',
      name: 'acme/tiny',
      version: 'c'.repeat(40),
      licenses: [{ license: { id: 'Apache-2.0' } }],
    })
    expect(
      bom.components.filter((c) => c.type === 'file').map((c) => [c.name, c.hashes![0]!.content, c.externalReferences?.[0]?.url]),
    ).toEqual([
      ['config.json', '1'.repeat(64), `hf://acme/tiny@${'c'.repeat(40)}/config.json`],
      ['w.safetensors', '2'.repeat(64), undefined],
    ])
    expect(bom.components.find((c) => c.type === 'container')?.purl).toBe(
      `pkg:oci/busybox@sha256%3A${'3'.repeat(64)}?repository_url=quay.io/org/busybox&tag=1.36`,
    )
    expect(bom.dependencies[0]!.dependsOn).toEqual(['file:config.json', 'file:w.safetensors', 'base'])
    expect(Buffer.from(cycloneDxSbom(facts())).equals(Buffer.from(cycloneDxSbom(facts())))).toBe(true)
  })

  it('licences that are no plain SPDX id become one expression', () => {
    const bom = JSON.parse(Buffer.from(cycloneDxSbom(facts({ licenses: ['MIT OR Apache-2.0', 'LicenseRef-acme'] }))).toString('utf8')) as {
      metadata: { component: { licenses: unknown } }
    }
    expect(bom.metadata.component.licenses).toEqual([{ expression: '(MIT OR Apache-2.0) AND LicenseRef-acme' }])
  })
})

describe('attachments', () => {
  it('referrers of the image on the empty config; the same SBOM is held already, a re-signed statement by the same key too', async () => {
    const k = key()
    const first = await buildAttachments({
      facts: facts(),
      attach: { sbom: 'cyclonedx', provenance: true },
      signer: { kind: 'key', key: k },
      repository: 'r',
    })
    const again = await buildAttachments({
      facts: facts(),
      attach: { sbom: 'cyclonedx', provenance: true },
      signer: { kind: 'key', key: k },
      repository: 'r',
    })
    expect(first.map((a) => `${a.kind}:${a.what}`)).toEqual(['referrer:sbom', 'referrer:provenance', 'signature-tag:signature'])
    for (const a of first.filter((x) => x.kind === 'referrer')) {
      const m = JSON.parse(Buffer.from(a.manifest.bytes).toString('utf8')) as ImageManifest
      expect(m.subject).toEqual(image)
      expect(m.config).toEqual({ mediaType: MediaType.ociEmpty, digest: sha256Digest('{}'), size: 2 })
    }
    const held = first.flatMap((a) => (a.kind === 'referrer' ? [referrerEntry(a)] : []))
    const [sbom, prov] = again
    if (sbom?.kind !== 'referrer' || prov?.kind !== 'referrer') throw new Error('referrers expected')
    expect(sbom.manifest.descriptor.digest).toBe(held[0]!.digest) // deterministic
    expect(prov.manifest.descriptor.digest).not.toBe(held[1]!.digest) // a new ECDSA signature…
    expect(holdsReferrer(held, prov)).toBe(true) // …of the same statement by the same key
    const other = await buildAttachments({
      facts: facts(),
      attach: { provenance: true },
      signer: { kind: 'key', key: key() },
      repository: 'r',
    })
    expect(holdsReferrer(held, other[0] as never)).toBe(false)
  })

  it('cosign’s signature manifest grows by one layer per signer, and not twice for the same one', async () => {
    const [a, b] = [key(), key()]
    const sigOf = async (k: ReturnType<typeof key>) =>
      (await buildAttachments({ facts: facts(), attach: undefined, signer: { kind: 'key', key: k }, repository: 'r' }))[0]!
    const one = signatureImage(undefined, (await sigOf(a)) as never)!
    const held = JSON.parse(Buffer.from(one.manifest.bytes).toString('utf8')) as ImageManifest
    expect(held.layers).toHaveLength(1)
    expect(signatureImage(held, (await sigOf(a)) as never)).toBeUndefined()
    const two = JSON.parse(Buffer.from(signatureImage(held, (await sigOf(b)) as never)!.manifest.bytes).toString('utf8')) as ImageManifest
    expect(two.layers.map((l) => l.annotations?.['dev.cosignproject.cosign/signature'])).toHaveLength(2)
    const config = JSON.parse(Buffer.from(signatureImage(held, (await sigOf(b)) as never)!.config.bytes).toString('utf8')) as {
      rootfs: { diff_ids: string[] }
    }
    expect(config.rootfs.diff_ids).toEqual(two.layers.map((l) => l.digest))
  })

  it('in a layout: referrers in index.json, the signature tagged; a second run adds nothing; read back as an attached image', async () => {
    const layout = new ImageLayout(await mkdtemp(path.join(os.tmpdir(), 'attach-layout-')))
    await layout.prepare()
    await layout.putBlob(configBytes)
    await layout.putBlob(manifestBytes)
    await layout.writeIndex({ ...emptyIndex(), manifests: [{ ...image, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }] })
    const k = key()
    const make = () =>
      buildAttachments({
        facts: facts(),
        attach: { sbom: 'cyclonedx', provenance: true },
        signer: { kind: 'key', key: k },
        repository: 'r',
      })
    await attachToLayout(layout, await make())
    const once = await layout.readIndex()
    await attachToLayout(layout, await make())
    expect(await layout.readIndex()).toEqual(once)
    expect(once.manifests.map((m) => m.artifactType ?? m.annotations?.['org.opencontainers.image.ref.name'])).toEqual([
      'latest',
      'application/vnd.cyclonedx+json',
      'application/vnd.in-toto+json',
      `sha256-${image.digest.slice(7)}.sig`,
    ])
    const attached = await layoutAttachedImage(layout.root, undefined, 'test')
    expect(attached.root.digest).toBe(image.digest)
    expect((await attached.referrers(image.digest)).map((r) => r.artifactType)).toEqual([
      'application/vnd.cyclonedx+json',
      'application/vnd.in-toto+json',
    ])
    expect(await attached.manifest(`sha256-${image.digest.slice(7)}.sig`)).toBeDefined()
  })
})
