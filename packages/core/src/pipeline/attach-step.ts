// The commit step's supply-chain part (`attach:`, `sign:`). Before any byte moves: every sink can
// store attachments, the key opens (or keyless signing has an identity). Once the image is made
// and before any sink commits: the SBOM, the provenance and the signatures, from what the run
// learnt (every file's sha256, origins, the base, the recipe), signed once per repository the
// image goes to. After each sink committed the image: its attachments.
import { readFileSync } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import { buildAttachments, type Signer } from '../attach/build-attachments.js'
import type { RunFacts } from '../attach/run-facts.js'
import type { Attachment } from '../contract/attachment.js'
import type { BaseImage } from '../contract/base.js'
import type { SinkInstance } from '../contract/component.js'
import type { Plan } from '../contract/plan.js'
import type { ContentProbes } from '../modelpack/content-probes.js'
import { sha256Digest } from '../oci/digest.js'
import type { Descriptor } from '../oci/types.js'
import type { Recipe } from '../recipe/load-recipe.js'
import type { AttachOptions } from '../recipe/recipe-schema.js'
import { keylessSigner } from '../sign/keyless.js'
import { signErrors } from '../sign/sign-errors.js'
import { loadSigningKey } from '../sign/signing-key.js'
import type { EncodedLayers } from './encode-layers.js'
import { sourceDateEpoch } from './layer-history.js'
import { modelLicenses } from './model-licenses.js'
import { guard, type ContextSettings, type Created } from './run-context.js'

/** The repository a signature names when no sink is a registry and the recipe gives no `sign.identity`. */
export const DEFAULT_IDENTITY = 'localhost/model'
const BUILDER_ID = 'urn:modelcar:builder'

export interface SupplyChain {
  attach: AttachOptions | undefined
  signer: Signer | undefined
  /** Every file's digest is needed (the SBOM and the provenance list them). */
  allDigests: boolean
  identity: string | undefined
}

/** What the recipe attaches and signs with, checked before any byte moves; undefined when it asks for neither. */
export async function prepareSupplyChain(
  recipe: Recipe,
  sinks: Created<SinkInstance>[],
  s: ContextSettings,
): Promise<SupplyChain | undefined> {
  const attach = recipe.attach?.sbom || recipe.attach?.provenance ? recipe.attach : undefined
  const sign = recipe.sign
  if (!attach && !sign) return undefined
  for (const sink of sinks) if (!sink.instance.attach) throw signErrors.attachUnsupported(sink.type)
  let signer: Signer | undefined
  if (sign?.key !== undefined) signer = { kind: 'key', key: await loadSigningKey(sign.key, { baseDir: recipe.dir, env: s.env }) }
  else if (sign?.keyless)
    signer = {
      kind: 'keyless',
      signer: await keylessSigner({ fulcioUrl: sign.fulcioUrl, rekorUrl: sign.rekorUrl, env: s.env, fetch: s.fetch, secret: s.secret }),
    }
  return { attach, signer, allDigests: !!(attach?.sbom || attach?.provenance), identity: sign?.identity }
}

export interface AttachJob {
  recipe: Recipe
  plan: Plan
  base: BaseImage
  image: Descriptor
  encoded: EncodedLayers
  /** Watches the model card, for the SBOM's licence. */
  probes: ContentProbes | undefined
  cacheDir: string | undefined
  sinks: Created<SinkInstance>[]
  settings: ContextSettings
}

/** Each sink's attachments: built once per repository the sinks name the image in. */
export async function attachmentsFor(chain: SupplyChain, job: AttachJob): Promise<Map<Created<SinkInstance>, Attachment[]>> {
  const facts = await runFacts(chain, job)
  const firstRepository = job.sinks.map((x) => x.instance.repository).find(Boolean)
  const byRepository = new Map<string, Attachment[]>()
  const out = new Map<Created<SinkInstance>, Attachment[]>()
  for (const sink of job.sinks) {
    const repository = sink.instance.repository ?? chain.identity ?? firstRepository ?? DEFAULT_IDENTITY
    let attachments = byRepository.get(repository)
    if (!attachments) {
      attachments = await buildAttachments({ facts, attach: chain.attach, signer: chain.signer, repository })
      byRepository.set(repository, attachments)
    }
    out.set(sink, attachments)
  }
  return out
}

/** Each sink that takes attachments is given its own (none, when the recipe attaches nothing), after it committed the image. */
export async function storeAttachments(
  sinks: Created<SinkInstance>[],
  bySink: Map<Created<SinkInstance>, Attachment[]>,
  s: ContextSettings,
): Promise<void> {
  for (const sink of sinks) {
    const attach = sink.instance.attach
    if (!attach) continue
    const attachments = bySink.get(sink) ?? []
    await guard(sink.type, 'commit', () => attach.call(sink.instance, attachments))
    for (const a of attachments) {
      const digest = a.kind === 'referrer' ? a.manifest.descriptor.digest : a.layer.descriptor.digest
      const where = a.kind === 'referrer' ? `a referrer of ${a.subject.digest.slice(0, 19)}…` : `tag ${a.tag}`
      s.emit({
        type: 'log',
        level: 'info',
        component: sink.type,
        message: `attached the ${a.what} (${digest}) to ${sink.instance.target} as ${where}`,
      })
    }
  }
}

async function runFacts(chain: SupplyChain, job: AttachJob): Promise<RunFacts> {
  const digests = new Map(job.encoded.files.filter((f) => f.digest).map((f) => [f.target, f.digest] as const))
  const missing = job.encoded.files.filter((f) => !f.digest)
  // The engine hashes every file when attachments want them: a file without one is a bug, not a gap to paper over.
  if (missing.length && chain.allDigests) throw new Error(`no content digest for ${missing.map((f) => `\`${f.target}\``).join(', ')}`)
  const mtime = sourceDateEpoch(job.settings.env)
  const root = job.base.root
  return {
    image: job.image,
    prefix: job.plan.prefix,
    files: job.encoded.files.map((f) => ({ target: f.target, size: f.size, digest: f.digest, ...(f.origin ? { origin: f.origin } : {}) })),
    annotations: job.plan.annotations,
    base: root && { name: job.base.name, digest: root.digest, ...(job.base.registry ? { reference: job.base.registry.reference } : {}) },
    licenses:
      chain.attach?.sbom && job.probes
        ? await modelLicenses({ plan: job.plan, probes: job.probes, digests, cacheDir: job.cacheDir, settings: job.settings })
        : [],
    recipe: { name: path.basename(job.recipe.file), digest: await recipeDigest(job.recipe) },
    builder: { id: BUILDER_ID, version: CORE_VERSION },
    created: mtime ? new Date(mtime * 1000).toISOString().replace('.000Z', 'Z') : undefined,
  }
}

/** The digest of the recipe file as written (its `${VAR}`s unexpanded: no secret is in it). */
async function recipeDigest(recipe: Recipe): Promise<string> {
  const bytes = await fs.readFile(recipe.file).catch(() => undefined)
  // A recipe made in code has no file: its name stands for it.
  return sha256Digest(bytes ?? recipe.file)
}

/** @modelcar/core's version: the builder's version in the provenance. */
const CORE_VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string })
  .version
