// The images modelcar makes on each of the three base shapes, checked by tools nobody here wrote:
// skopeo reads and pushes them, a real registry serves them, umoci unpacks them, podman runs them,
// GNU tar and Python read their layers. Each shape is built twice: by `modelcar add` in place on a
// copy of the base layout, and by a recipe into a new layout; both must give the same image.
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildFixtures, type FixturePaths } from '../../tools/fixtures/build-fixtures.mjs'
import { startRegistry, type Registry } from '../../tools/harness/registry.js'
import { tempDir, type TempDir } from '../../tools/harness/temp.js'
import { mustRun, podmanRun, skopeoCopyToRegistry, skopeoInspect, umociUnpack, type RawManifest } from '../../tools/harness/tools.js'
import {
  allChildDescriptors,
  assertCliBuilt,
  blobPath,
  countBlobs,
  ELF_MACHINE,
  elfMachine,
  expectModelTree,
  LONG_PATH,
  MT,
  mustModelcar,
  NON_ASCII_NAME,
  ODH_LAYER_TYPE,
  ODH_MODELCARD,
  platformImages,
  printedDigest,
  pythonTarMembers,
  readBlob,
  readIndex,
  readJsonBlob,
  sha256,
  tagged,
  TITLE,
  walkLayout,
  writeModel,
  type Model,
  type PlatformImage,
} from './support.js'

const SLOW = 120_000
const SHAPES = ['single', 'multiarch', 'docker'] as const
const VARIANTS = ['add', 'recipe'] as const
type Shape = (typeof SHAPES)[number]
type Variant = (typeof VARIANTS)[number]

const ANNOTATION = ['org.example.k', 'v'] as const
const LABEL = ['team', 'ml'] as const
const HOST_ARCH = { x64: 'amd64', arm64: 'arm64' }[process.arch as string] ?? process.arch
const DOCKER_REFERENCE_DIGEST = 'vnd.docker.reference.digest'

const ociOf = (mediaType: string) =>
  ({
    'application/vnd.docker.distribution.manifest.list.v2+json': MT.ociIndex,
    'application/vnd.docker.distribution.manifest.v2+json': MT.ociManifest,
    'application/vnd.docker.container.image.v1+json': MT.ociConfig,
    'application/vnd.docker.image.rootfs.diff.tar.gzip': MT.ociLayerGzip,
  })[mediaType] ?? mediaType

interface Built {
  layout: string
  /** What the CLI printed. */
  digest: string
}

let work: TempDir
let fixtures: FixturePaths
let registry: Registry
let model: Model
const built = {} as Record<Shape, Record<Variant, Built>>
/** The fixture layouts as they were before anything ran on them. */
const fixtureBefore = {} as Record<Shape, { indexText: string; blobs: number }>

function recipeFor(base: string, modelRoot: string): string {
  return [
    'apiVersion: modelcar/v1',
    `base: ${JSON.stringify(`oci-layout:${base}:latest`)}`,
    'sources:',
    '  - type: local',
    `    path: ${JSON.stringify(modelRoot)}`,
    'transforms:',
    '  - type: modelcard',
    '    file: README.md',
    '  - type: annotate',
    `    annotations: { ${ANNOTATION[0]}: ${ANNOTATION[1]} }`,
    `    labels: { ${LABEL[0]}: ${LABEL[1]} }`,
    'sinks:',
    '  - type: oci-layout',
    '    path: ./out',
    '    tag: latest',
    '',
  ].join('\n')
}

beforeAll(async () => {
  await assertCliBuilt()
  work = await tempDir('e2e-base-images')
  fixtures = await buildFixtures(join(work.path, 'fixtures'))
  registry = await startRegistry()
  model = await writeModel(join(work.path, 'model'))
  for (const shape of SHAPES) {
    const fixture = fixtures[shape]
    fixtureBefore[shape] = { indexText: await readFile(join(fixture, 'index.json'), 'utf8'), blobs: await countBlobs(fixture) }

    const addLayout = join(work.path, `${shape}-add`)
    await cp(fixture, addLayout, { recursive: true })
    const added = await mustModelcar(
      [
        'add',
        `${addLayout}:latest`,
        ...model.addArgs,
        '--modelcard',
        'README.md',
        '--annotation',
        ANNOTATION.join('='),
        '--label',
        LABEL.join('='),
      ],
      { cwd: model.root },
    )

    const recipeDir = join(work.path, `${shape}-recipe`)
    await mkdir(recipeDir)
    await writeFile(join(recipeDir, 'recipe.yaml'), recipeFor(fixture, model.root))
    const ran = await mustModelcar(['run', 'recipe.yaml'], { cwd: recipeDir })

    built[shape] = {
      add: { layout: addLayout, digest: printedDigest(added) },
      recipe: { layout: join(recipeDir, 'out'), digest: printedDigest(ran) },
    }
  }
}, SLOW)

afterAll(async () => {
  await registry?.stop()
  await work?.cleanup()
})

/** Pushes once per image; the tests that need it in the registry share the push. */
const pushes = new Map<string, Promise<string>>()
function pushed(shape: Shape, variant: Variant): Promise<string> {
  const key = `${shape}-${variant}`
  let p = pushes.get(key)
  if (!p) {
    const ref = `${registry.host}/e2e/${key}:latest`
    p = skopeoCopyToRegistry(`${built[shape][variant].layout}:latest`, ref).then(() => ref)
    pushes.set(key, p)
  }
  return p
}

async function imagesOf(layout: string): Promise<PlatformImage[]> {
  return platformImages(layout, tagged(await readIndex(layout)))
}

/**
 * A layout with only the image of one platform, copied by skopeo (digests preserved): umoci 0.4
 * unpacks a tag only when it leads to exactly one manifest.
 */
async function onePlatformLayout(shape: Shape, variant: Variant, image: PlatformImage): Promise<string> {
  const { layout } = built[shape][variant]
  if (shape === 'single') return layout
  const [os, arch, variant_] = image.platform.split('/')
  const dest = join(work.path, `${shape}-${variant}-${arch}`)
  await mustRun('skopeo', [
    '--insecure-policy',
    '--override-os',
    os!,
    '--override-arch',
    arch!,
    ...(variant_ ? ['--override-variant', variant_] : []),
    'copy',
    '--preserve-digests',
    `oci:${layout}:latest`,
    `oci:${dest}:latest`,
  ])
  expect(tagged(await readIndex(dest)).digest, `the ${image.platform} manifest skopeo picked`).toBe(image.descriptor.digest)
  return dest
}

describe.each(SHAPES)('on the %s base', (shape) => {
  it('`modelcar add` (in place) and the recipe (new layout) print the digest index.json tags, and make the same image', async () => {
    for (const variant of VARIANTS) {
      const { layout, digest } = built[shape][variant]
      expect(tagged(await readIndex(layout)).digest, variant).toBe(digest)
    }
    expect(built[shape].add.digest).toBe(built[shape].recipe.digest)
    expect(built[shape].add.digest).not.toBe(tagged(await readIndex(fixtures[shape])).digest)
  })

  it('the recipe left its base layout (another folder) exactly as it was', async () => {
    expect(await readFile(join(fixtures[shape], 'index.json'), 'utf8')).toBe(fixtureBefore[shape].indexText)
    expect(await countBlobs(fixtures[shape])).toBe(fixtureBefore[shape].blobs)
  })

  describe.each(VARIANTS)('made by %s', (variant) => {
    const layoutOf = () => built[shape][variant].layout

    it('skopeo reads it from oci: as OCI; every blob it reaches is there with its digest and size, and no other blob was written', async () => {
      const layout = layoutOf()
      const { raw, rawText, inspect } = await skopeoInspect(`oci:${layout}:latest`)
      expect(sha256(rawText)).toBe(built[shape][variant].digest)
      expect(raw.mediaType).toBe(shape === 'single' ? MT.ociManifest : MT.ociIndex)
      expect([inspect.Os, inspect.Architecture]).toEqual(['linux', HOST_ARCH])
      expect(inspect.Labels).toMatchObject({ 'org.example.base': 'busybox', [LABEL[0]]: LABEL[1] })
      expect(inspect.Layers).toHaveLength(1 + model.files.length)

      const { descriptors } = await walkLayout(layout)
      expect(
        descriptors.map((d) => d.mediaType).filter((t) => t.includes('vnd.docker')),
        'Docker media types left',
      ).toEqual([])
      const index = await readIndex(layout)
      expect(
        index.manifests?.map((d) => d.mediaType).filter((t) => t !== MT.ociIndex && t !== MT.ociManifest),
        'index.json entries that skopeo’s oci: refuses',
      ).toEqual([])

      // Content addressed and nothing else: the blobs are the base's (when written in place) plus
      // exactly the new documents and layers, each once.
      const reachable = new Set(descriptors.map((d) => d.digest))
      if (variant === 'recipe') expect(await countBlobs(layout)).toBe(reachable.size)
      else {
        const baseBlobs = new Set((await walkLayout(fixtures[shape])).descriptors.map((d) => d.digest))
        const fresh = [...reachable].filter((d) => !baseBlobs.has(d))
        expect(await countBlobs(layout)).toBe(fixtureBefore[shape].blobs + fresh.length)
      }
    })

    it('every platform image: base layers, then one layer per model file titled with its path; config in step; everything modelcar does not own kept verbatim', async () => {
      const layout = layoutOf()
      const baseImages = await imagesOf(fixtures[shape])
      const images = await imagesOf(layout)
      expect(images.map((i) => i.platform)).toEqual(baseImages.map((i) => i.platform))
      expect(images.length).toBe(shape === 'single' ? 1 : 2)

      for (const [i, img] of images.entries()) {
        const base = baseImages[i]!
        const what = `${img.platform} of ${variant}`
        expect(img.manifest.mediaType, what).toBe(MT.ociManifest)
        expect(img.manifest.config?.mediaType, what).toBe(MT.ociConfig)

        const baseLayers = base.manifest.layers!
        const layers = img.manifest.layers!
        expect(layers.slice(0, baseLayers.length), `${what}: base layers`).toEqual(
          baseLayers.map((l) => ({ ...l, mediaType: ociOf(l.mediaType) })),
        )
        const added = layers.slice(baseLayers.length)
        expect(added.map((l) => l.annotations?.[TITLE]).sort(), `${what}: titles of the new layers`).toEqual(
          model.files.map((f) => f.path).sort(),
        )
        expect(
          layers.filter((l) => !l.annotations?.[TITLE]),
          `${what}: untitled layers`,
        ).toHaveLength(baseLayers.length)

        // The model card: its own layer, found through the manifest annotation (Open Data Hub).
        const cards = added.filter((l) => l.annotations?.[ODH_LAYER_TYPE] === 'modelcard')
        expect(
          cards.map((l) => l.annotations?.[TITLE]),
          what,
        ).toEqual(['README.md'])
        expect(img.manifest.annotations?.[ODH_MODELCARD], what).toBe(cards[0]!.digest)
        expect(
          gunzipSync(await readBlob(layout, cards[0]!.digest)).includes(await readFile(join(model.root, 'README.md'))),
          'the card layer holds README.md',
        ).toBe(true)

        expect(img.manifest.annotations, what).toMatchObject({ ...(base.manifest.annotations ?? {}), [ANNOTATION[0]]: ANNOTATION[1] })

        // rootfs.diff_ids and history grow in step with the layers.
        const { rootfs, history, config: inner, ...rest } = img.config
        const { rootfs: baseRootfs, history: baseHistory, config: baseInner, ...baseRest } = base.config
        expect(rootfs.diff_ids, `${what}: diff_ids`).toHaveLength(layers.length)
        expect(rootfs.diff_ids.slice(0, baseLayers.length)).toEqual(baseRootfs.diff_ids)
        expect(history!.slice(0, baseHistory!.length), `${what}: base history`).toEqual(baseHistory)
        expect(
          history!.filter((h) => !h.empty_layer),
          `${what}: history entries of layers`,
        ).toHaveLength(layers.length)
        for (const [j, l] of added.entries()) {
          const diffId = rootfs.diff_ids[baseLayers.length + j]
          if (l.mediaType === MT.ociLayer) expect(diffId, `diff_id of ${l.annotations?.[TITLE]}`).toBe(l.digest)
          else {
            expect(l.mediaType).toBe(MT.ociLayerGzip)
            expect(diffId, `diff_id of ${l.annotations?.[TITLE]}`).toBe(sha256(gunzipSync(await readBlob(layout, l.digest))))
          }
        }

        // All else verbatim: unknown top-level fields, Docker's Healthcheck and StopSignal,
        // `created` with its nanoseconds; labels only gain ours.
        expect(rest, `${what}: config fields besides rootfs, history, config`).toEqual(baseRest)
        const { Labels, ...innerRest } = inner ?? {}
        const { Labels: baseLabels, ...baseInnerRest } = baseInner ?? {}
        expect(innerRest, `${what}: config.config`).toEqual(baseInnerRest)
        expect(Labels).toEqual({ ...baseLabels, [LABEL[0]]: LABEL[1] })
        expect(base.config.created).toMatch(/\.\d{9}Z$/)
        expect(img.configText).toContain(`"created":${JSON.stringify(base.config.created)}`)
        if (shape === 'docker') {
          expect(rest).toHaveProperty('docker_version')
          expect(rest).toHaveProperty('container_config')
        } else {
          expect(innerRest).toHaveProperty('Healthcheck')
          expect(innerRest).toHaveProperty('StopSignal')
          expect(rest).toHaveProperty(['moby.buildkit.buildinfo.v1'])
        }

        // The descriptor its parent index gives it keeps its annotations and platform.
        if (shape !== 'single') {
          const { digest: _d, size: _s, mediaType: _m, ...kept } = base.descriptor
          expect(img.descriptor, `${what}: index entry`).toMatchObject(kept)
        }
      }
    })

    it(
      'the registry takes it from skopeo (--preserve-digests --multi-arch all) and serves every manifest under the layout’s digest',
      async () => {
        const ref = await pushed(shape, variant)
        const { rawText } = await skopeoInspect(`docker://${ref}`)
        expect(sha256(rawText)).toBe(built[shape][variant].digest)
        const repo = ref.slice(0, ref.lastIndexOf(':'))
        for (const img of await imagesOf(layoutOf())) {
          const { rawText: manifest } = await skopeoInspect(`docker://${repo}@${img.descriptor.digest}`)
          expect(sha256(manifest), img.platform).toBe(img.descriptor.digest)
        }
      },
      SLOW,
    )

    it(
      'umoci unpacks every platform: each model file under /models with its bytes and mode, folders 0755, and the base’s busybox',
      async () => {
        for (const img of await imagesOf(layoutOf())) {
          const arch = img.platform.split('/')[1]!
          const ref = `${await onePlatformLayout(shape, variant, img)}:latest`
          const rootfs = await umociUnpack(ref, join(work.path, `bundle-${shape}-${variant}-${arch}`))
          await expectModelTree(rootfs, model)
          expect(await elfMachine(join(rootfs, 'bin', 'busybox')), `${img.platform}: bin/busybox`).toBe(ELF_MACHINE[arch])
        }
      },
      SLOW,
    )
  })

  // add and recipe make the same image (checked above): podman runs each shape three times, not six.
  it(
    'podman runs it from the registry (pushed from the recipe’s layout): /models lists the model with its bytes and modes, and /mnt/models links to it',
    async () => {
      const ref = await pushed(shape, 'recipe')
      // KServe mounts a shared volume at /mnt; here nothing does, so the command makes the folder.
      const out = await podmanRun(
        ref,
        'ls -la /models && mkdir -p /mnt && ln -sf /proc/$$/root/models /mnt/models && echo "--- ls" && ls /mnt/models/ && ' +
          'echo "--- sums" && cd /mnt/models/ && find . -type f | while read -r f; do sha256sum "$f"; done',
      )
      const [long, short, sums] = out.split(/^--- \w+\n/m)
      expect(long).toMatch(/^-rwxr-xr-x .* run\.sh$/m)
      expect(long).toMatch(/^-rw-r--r-- .* weights\.bin$/m)
      expect(long).toMatch(/^drwxr-xr-x .* tokenizer$/m)
      // busybox ls shows non-ASCII bytes as `?`; find and sha256sum below print the names as they are.
      const asciiArgs = model.addArgs.filter((a) => /^[\x20-\x7e]+$/.test(a))
      expect(short!.split('\n').filter(Boolean).sort()).toEqual(expect.arrayContaining(asciiArgs))
      expect(short!.split('\n').filter(Boolean)).toHaveLength(model.addArgs.length)
      const seen = Object.fromEntries(
        sums!
          .trim()
          .split('\n')
          .map((line) => [line.slice(66).replace(/^\.\//, ''), `sha256:${line.slice(0, 64)}`]),
      )
      expect(seen).toEqual(Object.fromEntries(model.files.map((f) => [f.path, f.digest])))
    },
    SLOW,
  )

  it(
    'podman runs it straight from the layout `add` changed in place (oci:PATH:TAG), and /models/run.sh is executable',
    async () => {
      const out = await podmanRun(`oci:${built[shape].add.layout}:latest`, 'cat /models/tokenizer/vocab.json && /models/run.sh model')
      expect(out).toBe(`${await readFile(join(model.root, 'tokenizer', 'vocab.json'), 'utf8')}serving model\n`)
    },
    SLOW,
  )

  it(
    'KServe’s modelcar sidecar command sees the model and prints ready (pulled from the registry, pushed from the add layout)',
    async () => {
      const ref = await pushed(shape, 'add')
      const out = await podmanRun(
        ref,
        `mkdir -p /mnt && sh -c 'ln -sf /proc/$$/root/models /mnt/models && [ -d /models ] && [ "$(ls -A /models)" ] && echo ready'`,
      )
      expect(out.trim()).toBe('ready')
    },
    SLOW,
  )

  if (shape === 'multiarch') {
    it.each(VARIANTS)(
      '%s: amd64 and arm64 got the same new layers; the attestation of the old amd64 manifest is gone and no entry refers to a missing manifest',
      async (variant) => {
        const layout = built[shape][variant].layout
        const [amd64, arm64] = await imagesOf(layout)
        const newLayers = (img: PlatformImage) => img.manifest.layers!.slice(1)
        expect(newLayers(arm64!)).toEqual(newLayers(amd64!))
        for (const l of newLayers(amd64!)) expect((await readBlob(layout, l.digest)).length).toBe(l.size)

        const baseIndex = await readJsonBlob(fixtures.multiarch, tagged(await readIndex(fixtures.multiarch)).digest)
        const baseAttestation = baseIndex.manifests!.find((d) => d.annotations?.[DOCKER_REFERENCE_DIGEST])!
        const { documents } = await walkLayout(layout)
        const index = documents.get(built[shape][variant].digest)!
        expect(index.manifests!.map((d) => d.digest)).not.toContain(baseAttestation.digest)
        for (const [digest, doc] of documents) {
          if (!doc.manifests) continue
          const present = new Set(doc.manifests.map((d) => d.digest))
          for (const d of doc.manifests) {
            const refers = d.annotations?.[DOCKER_REFERENCE_DIGEST]
            if (refers) expect(present.has(refers), `${d.digest} in ${digest} refers to ${refers}`).toBe(true)
          }
        }
        for (const { parent, child } of allChildDescriptors(documents)) {
          expect(
            await readBlob(layout, child.digest).then(
              () => true,
              () => false,
            ),
            `${child.digest} named in ${parent}`,
          ).toBe(true)
        }
      },
    )
  }

  if (shape === 'docker') {
    it('add: index.json is OCI, and the platform manifests oras listed beside the list now point at the new ones', async () => {
      const { layout, digest } = built.docker.add
      const index = await readIndex(layout)
      const before = JSON.parse(fixtureBefore.docker.indexText) as RawManifest
      expect(index.mediaType ?? MT.ociIndex).toBe(MT.ociIndex)
      expect(index.manifests!.map((d) => d.mediaType)).toEqual([MT.ociIndex, MT.ociManifest, MT.ociManifest])
      const root = tagged(index)
      expect(index.manifests![0]).toEqual(root)
      const list = await readJsonBlob(layout, digest)
      expect(list.mediaType).toBe(MT.ociIndex)
      expect(index.manifests!.slice(1)).toEqual(list.manifests)
      expect(index.manifests!.slice(1).map((d) => d.platform)).toEqual(before.manifests!.slice(1).map((d) => d.platform))
      for (const d of index.manifests!.slice(1)) expect(before.manifests!.map((b) => b.digest)).not.toContain(d.digest)
    })

    it('recipe: the new layout holds only the new image, in OCI media types', async () => {
      const index = await readIndex(built.docker.recipe.layout)
      expect(index.manifests).toEqual([
        {
          mediaType: MT.ociIndex,
          digest: built.docker.recipe.digest,
          size: expect.any(Number),
          annotations: { 'org.opencontainers.image.ref.name': 'latest' },
        },
      ])
    })
  }

  if (shape === 'single') {
    it('add: index.json still holds one entry, the new manifest under the old tag', async () => {
      const index = await readIndex(built.single.add.layout)
      expect(index.manifests).toHaveLength(1)
      const before = JSON.parse(fixtureBefore.single.indexText) as RawManifest
      const { digest: _d, size: _s, ...kept } = before.manifests![0]!
      expect(index.manifests![0]).toMatchObject({ ...kept, digest: built.single.add.digest })
    })
  }
})

describe('the model layers', () => {
  it('are the same bytes on every base and by either command (same files in, same layers out)', async () => {
    const newLayers = async (shape: Shape, variant: Variant) =>
      (await imagesOf(built[shape][variant].layout)).map((img) =>
        img.manifest.layers!.slice(1).map((l) => ({ ...l, annotations: { ...l.annotations } })),
      )
    const [reference] = await newLayers('single', 'add')
    for (const shape of SHAPES)
      for (const variant of VARIANTS)
        for (const layers of await newLayers(shape, variant)) expect(layers, `${shape} ${variant}`).toEqual(reference)
  })

  it('are tars that Python reads: models/<path> after its parent folders, root-owned with no names, mtime 0, modes 0644/0755, PAX for long and non-ASCII names', async () => {
    const { layout } = built.single.add
    const [img] = await imagesOf(layout)
    const layers = img!.manifest.layers!.slice(1)
    const tars = await pythonTarMembers(layers.map((l) => blobPath(layout, l.digest)))
    for (const [i, members] of tars.entries()) {
      const title = layers[i]!.annotations![TITLE]!
      const file = model.files.find((f) => f.path === title)!
      const parts = `models/${title}`.split('/')
      const parents = parts.slice(0, -1).map((_, k) => parts.slice(0, k + 1).join('/'))
      const common = { uid: 0, gid: 0, uname: '', gname: '', mtime: 0 }
      expect(
        members.map(({ pax: _, ...m }) => m),
        title,
      ).toEqual([
        ...parents.map((name) => ({ ...common, name, type: 'dir', mode: 0o755, size: 0 })),
        { ...common, name: `models/${title}`, type: 'file', mode: file.mode, size: file.size },
      ])
      const needsPax = title === LONG_PATH || title === NON_ASCII_NAME
      expect(members.at(-1)!.pax.includes('path'), `PAX path of ${title}`).toBe(needsPax)
    }
  })

  it('are tars that GNU tar extracts, in order, into the model with its bytes and modes', async () => {
    const { layout } = built.single.add
    const [img] = await imagesOf(layout)
    const dest = join(work.path, 'gnu-tar')
    await mkdir(dest)
    for (const l of img!.manifest.layers!.slice(1)) {
      await mustRun('tar', ['-x', ...(l.mediaType === MT.ociLayerGzip ? ['-z'] : []), '-f', blobPath(layout, l.digest), '-C', dest])
    }
    await expectModelTree(dest, model)
  })
})
