// The model's licences for the SBOM: the recipe's `org.opencontainers.image.licenses` annotation
// when it sets one, else the `license` of the model card's front matter as SPDX. The card is seen
// as it streams (its first 64 KiB); a card whose layer was reused is found in the local record of
// facts, else its start is read again (a few KiB of text, never a model file).
import type { Plan, PlannedFile } from '../contract/plan.js'
import { ContentProbes } from '../modelpack/content-probes.js'
import { factKeys, FactsRecord } from '../modelpack/facts-record.js'
import { readModelFile } from './read-model-file.js'
import type { ContextSettings } from './run-context.js'

const LICENSES = 'org.opencontainers.image.licenses'

/** The plan with its model card watched as it streams, unless `probes` (ModelPack's) watch it already. */
export function watchCard(plan: Plan, probes: ContentProbes | undefined): { plan: Plan; probes: ContentProbes } {
  if (probes) return { plan, probes }
  const own = new ContentProbes()
  return { plan: { ...plan, files: plan.files.map((f) => (f.modelcard ? own.watch(f) : f)) }, probes: own }
}

export async function modelLicenses(o: {
  plan: Plan
  probes: ContentProbes
  /** Content digests by target, as the run knows them. */
  digests: ReadonlyMap<string, string>
  cacheDir: string | undefined
  settings: ContextSettings
}): Promise<string[]> {
  const given = o.plan.annotations[LICENSES]?.trim()
  if (given) return [given]
  const card = o.plan.files.find((f) => f.modelcard)
  const probe = card && ContentProbes.probeOf(card)
  if (!card || !probe) return []
  const record = o.cacheDir ? await FactsRecord.open(o.cacheDir) : undefined
  const keys = factKeys(probe.sort, card.file, o.digests.get(card.target))
  let facts = o.probes.found.get(card.target) ?? record?.find(keys)
  if (!facts && !o.probes.settled(card.target)) facts = await readCardAgain(card, o.probes, o.settings)
  if (facts) await record?.add(keys, facts)
  return facts && 'card' in facts ? (facts.card.licenses ?? []) : []
}

async function readCardAgain(card: PlannedFile, probes: ContentProbes, s: ContextSettings) {
  s.emit({
    type: 'log',
    level: 'info',
    component: card.source,
    message: `reading the start of \`${card.target}\` for the SBOM's licence: its layer was reused, and no record says what it holds`,
  })
  for await (const _chunk of readModelFile(card.file, { signal: s.signal, component: card.source })) if (probes.settled(card.target)) break
  return probes.found.get(card.target)
}
