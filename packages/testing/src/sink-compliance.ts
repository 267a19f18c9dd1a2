// assertSinkCompliance: drives a sink through a whole run with a small real image (two tar layers
// on a scratch base) and checks what the engine relies on: blobs are checked, an aborted blob or
// run leaves nothing, commit returns the image's digest, has() sees what was written, and a second
// run of the same image is idempotent.
import { randomBytes } from 'node:crypto'
import {
  editImage,
  encodeLayer,
  scratchBase,
  sha256Digest,
  type BlobWriter,
  type ComponentContext,
  type Descriptor,
  type EditedImage,
  type SinkComponent,
  type SinkInstance,
} from '@modelcar/core'
import { checkedConfig, undocumentedFields } from './check-config.js'
import { ComplianceError } from './compliance-error.js'
import { testContext } from './test-context.js'

export interface SinkComplianceOptions {
  context?: () => ComponentContext
  /** Called after the first commit with the image, to check the target with outside tools. */
  inspect?: (image: EditedImage, committed: { ref: string; digest: string }) => Promise<void>
}

export interface SinkComplianceReport {
  image: EditedImage
  checks: string[]
}

export async function assertSinkCompliance(
  component: SinkComponent,
  config: Record<string, unknown>,
  opts: SinkComplianceOptions = {},
): Promise<SinkComplianceReport> {
  const type = typeof component?.type === 'string' ? component.type : '(no type)'
  const fail = (message: string): never => {
    throw new ComplianceError(type, message)
  }
  if (component?.kind !== 'sink') fail(`kind is \`${String(component?.kind)}\`, not \`sink\` (use defineSink)`)
  if (typeof component.description !== 'string' || !component.description) fail('has no `description` (one line for its reference page)')
  const undocumented = undocumentedFields(component.schema)
  if (undocumented.length) fail(`schema fields without a description: ${undocumented.join(', ')}`)
  const cfg = checkedConfig(component, config, 'the config')
  const newContext = opts.context ?? (() => testContext({ type }))
  const create = async (): Promise<SinkInstance> => {
    const sink = await component.create(cfg as never, newContext())
    for (const m of ['has', 'openBlob', 'commit'] as const) if (typeof sink?.[m] !== 'function') fail(`the instance has no ${m}()`)
    if (typeof sink.target !== 'string' || !sink.target) fail('the instance has no `target` (its human form, for messages)')
    return sink
  }
  const checks: string[] = []
  const step = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn()
    } catch (err) {
      if (err instanceof ComplianceError) throw err
      return fail(`${what} failed: ${(err as Error)?.message ?? String(err)}`)
    }
  }

  const { image, layers } = await smallImage()
  const sink = await create()
  await step('check()', async () => sink.check?.())
  await step('prepare()', async () => sink.prepare?.())
  for (const l of layers)
    if (await step('has()', () => sink.has(l.descriptor)))
      fail(`has() says the new target already holds \`${l.descriptor.digest}\`; give a config for an empty target`)

  // A blob whose bytes do not match the digest it is committed under must be refused.
  const wrong = await step('openBlob()', () => sink.openBlob({ mediaType: 'application/octet-stream', verify: true }))
  const junk = randomBytes(1000)
  await step('write()', () => wrong.write(junk))
  const claimed = { digest: sha256Digest('something else'), size: junk.length }
  if (
    await wrong.commit(claimed).then(
      () => true,
      () => false,
    )
  )
    fail('a blob committed (verify: true) under a digest its bytes do not have was accepted')
  checks.push('a blob with the wrong digest is refused')

  // A blob written halfway and aborted leaves nothing.
  const cut = await step('openBlob()', () => sink.openBlob({ mediaType: layers[0]!.descriptor.mediaType, verify: false }))
  await step('write()', () => cut.write(layers[0]!.bytes.subarray(0, 10)))
  await step('abort() of a blob', () => cut.abort())
  if (await step('has()', () => sink.has(layers[0]!.descriptor))) fail('an aborted blob is reported by has()')
  checks.push('an aborted blob is not there')

  for (const l of layers) await step('writing a layer', () => writeBlob(sink, l.bytes, l.descriptor, false))
  const committed = await step('commit()', () => sink.commit(image))
  if (committed?.digest !== image.root.digest)
    fail(`commit() returned digest \`${committed?.digest}\`, the image's is \`${image.root.digest}\``)
  if (typeof committed.ref !== 'string' || !committed.ref) fail('commit() returned no `ref`')
  checks.push('commit() returns the image digest')
  for (const d of [...layers.map((l) => l.descriptor), ...image.documents.map((doc) => doc.descriptor)]) {
    if (!(await step('has()', () => sink.has(d)))) fail(`after commit, has() does not see \`${d.digest}\` (${d.mediaType})`)
  }
  checks.push('has() sees every layer and document after commit')
  await opts.inspect?.(image, committed)

  // The same image again, from a new instance (a re-run): it has every blob and commits the same digest.
  const again = await create()
  await step('prepare() on a re-run', async () => again.prepare?.())
  for (const l of layers)
    if (!(await step('has()', () => again.has(l.descriptor)))) fail('a second instance does not see the blobs the first one committed')
  const second = await step('commit() on a re-run', () => again.commit(image))
  if (second.digest !== image.root.digest) fail(`a re-run commits \`${second.digest}\`, the first run \`${image.root.digest}\``)
  checks.push('a re-run sees the blobs and commits the same digest')

  // A run that fails after prepare(): abort() leaves nothing of it.
  const failed = await create()
  await step('prepare()', async () => failed.prepare?.())
  const orphan = randomBytes(2048)
  const orphanDesc: Descriptor = { mediaType: layers[0]!.descriptor.mediaType, digest: sha256Digest(orphan), size: orphan.length }
  const open = await step('openBlob()', () => failed.openBlob({ mediaType: orphanDesc.mediaType, verify: true }))
  await step('write()', () => open.write(orphan.subarray(0, 1024)))
  await step('abort() of a run', async () => failed.abort?.())
  const after = await create()
  if (await step('has()', () => after.has(orphanDesc))) fail('after abort(), the blob that was being written is there')
  if (!(await step('has()', () => after.has(layers[0]!.descriptor)))) fail('abort() of a later run removed a blob of the committed image')
  checks.push('abort() leaves nothing of the failed run and keeps what was committed')
  return { image, checks }
}

async function writeBlob(sink: SinkInstance, bytes: Uint8Array, desc: Descriptor, verify: boolean): Promise<void> {
  const writer: BlobWriter = await sink.openBlob({ mediaType: desc.mediaType, size: desc.size, verify })
  try {
    // In pieces, as the engine hands them over.
    for (let i = 0; i < bytes.length; i += 4096) await writer.write(bytes.subarray(i, i + 4096))
    await writer.commit(desc)
  } catch (err) {
    await writer.abort().catch(() => {})
    throw err
  }
}

/** Two real tar layers (a file each under /models) on a scratch base, and the image they make. */
async function smallImage(): Promise<{ image: EditedImage; layers: { bytes: Buffer; descriptor: Descriptor; diffId: string }[] }> {
  const layers = []
  for (const [name, content] of [
    ['models/config.json', Buffer.from('{"compliance":true}\n')],
    ['models/weights.bin', randomBytes(300 * 1024)],
  ] as const) {
    const enc = encodeLayer([
      {
        name,
        size: content.length,
        read: async function* () {
          yield content
        },
      },
    ])
    const chunks: Buffer[] = []
    for await (const c of enc.chunks) chunks.push(Buffer.from(c))
    const r = await enc.result
    layers.push({
      bytes: Buffer.concat(chunks),
      descriptor: { mediaType: r.mediaType, digest: r.digest, size: r.size, annotations: { 'org.opencontainers.image.title': name } },
      diffId: r.diffId,
    })
  }
  const image = await editImage(scratchBase(['linux/amd64']), {
    layers: layers.map((l) => ({ descriptor: l.descriptor, diffId: l.diffId, history: { created_by: 'modelcar compliance kit' } })),
    manifestAnnotations: {},
    labels: {},
  })
  return { image, layers }
}
