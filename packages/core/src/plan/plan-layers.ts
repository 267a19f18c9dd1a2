// Groups planned files into layers after the last transform: one per file by default, small
// files together with `grouped`, files a transform grouped by name (`layer`) together, the model
// card alone, a layer per derived file at the end, and never more layers than a container
// runtime can mount.
import { errors } from '../errors/core-errors.js'
import { safeModelPath } from '../files/model-path.js'
import { Annotation } from '../oci/media-types.js'
import type { Plan, PlannedFile, PlannedLayer } from '../contract/plan.js'

const byTarget = (a: PlannedFile, b: PlannedFile) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0)

/** The layers of the model files, in image order; derived files follow them (derivedLayer). */
export function planLayers(plan: Plan): PlannedLayer[] {
  const cards = plan.files.filter((f) => f.modelcard)
  if (cards.length > 1) {
    throw errors.planInvalid(
      `${cards.length} files are marked as model card: ${cards.map((c) => `\`${c.target}\``).join(', ')}`,
      'keep one `modelcard` transform',
    )
  }
  const rest = plan.files.filter((f) => !f.modelcard).sort(byTarget)
  const budget = plan.layering.maxLayers - plan.baseLayers - cards.length - plan.derived.length
  if (budget < 1 && rest.length > 0) {
    throw errors.planInvalid(
      `the base image already has ${plan.baseLayers} layers; with the maximum of ${plan.layering.maxLayers} no room is left for the model`,
      'use a base with fewer layers, or raise `maxLayers` of the `layers` transform if your runtime allows it',
    )
  }
  // Files a transform grouped by name share their layer whatever the strategy says.
  const named = new Map<string, PlannedFile[]>()
  for (const f of rest) if (f.layer !== undefined) named.set(f.layer, [...(named.get(f.layer) ?? []), f])
  const free = rest.filter((f) => f.layer === undefined)
  let groups = [...named.values(), ...strategyGroups(free, plan)]
  if (groups.length > budget) groups = [...named.values(), ...balance(free, Math.max(1, budget - named.size))]
  if (groups.length > budget) {
    throw errors.planInvalid(
      `transforms grouped the files into ${named.size} named layers, more than the ${budget} the image has room for`,
      'group them into fewer layers, or raise `maxLayers`',
    )
  }

  const layers = groups.map((files) => layerOf(files.sort(byTarget), plan))
  layers.sort((a, b) => byTarget(a.files[0]!, b.files[0]!))
  for (const card of cards) {
    const layer = { ...layerOf([card], plan), compression: plan.modelcardCompression, modelcard: true }
    layer.annotations[Annotation.odhLayerType] = 'modelcard'
    layers.push(layer)
  }
  return layers
}

function strategyGroups(files: PlannedFile[], plan: Plan): PlannedFile[][] {
  if (plan.layering.strategy !== 'grouped') return files.map((f) => [f])
  const small = files.filter((f) => f.file.size < plan.layering.groupBelowBytes)
  const large = files.filter((f) => f.file.size >= plan.layering.groupBelowBytes)
  return [...large.map((f) => [f]), ...(small.length ? [small] : [])]
}

/**
 * Spreads files over `bins` layers, largest first into the lightest layer (LPT): big shards end
 * up alone, small files share. Ties break on the path, so the result is deterministic.
 */
function balance(files: PlannedFile[], bins: number): PlannedFile[][] {
  const sorted = [...files].sort((a, b) => b.file.size - a.file.size || byTarget(a, b))
  const groups: { files: PlannedFile[]; bytes: number }[] = Array.from({ length: Math.min(bins, sorted.length) }, () => ({
    files: [],
    bytes: 0,
  }))
  for (const f of sorted) {
    let lightest = groups[0]!
    for (const g of groups) if (g.bytes < lightest.bytes) lightest = g
    lightest.files.push(f)
    lightest.bytes += f.file.size
  }
  return groups.map((g) => g.files)
}

/** A layer of `files`; one file's layer is annotated with its title, origin and content digest. */
export function layerOf(files: PlannedFile[], plan: Pick<Plan, 'compression'>): PlannedLayer {
  const annotations: Record<string, string> = {}
  if (files.length === 1) {
    const f = files[0]!
    annotations[Annotation.title] = f.target
    if (f.file.origin) annotations[Annotation.origin] = f.file.origin
    if (f.file.digest) annotations[Annotation.contentDigest] = f.file.digest
  }
  return { files, annotations, compression: plan.compression }
}

/** Derived files have safe paths that no model file or other derived file has. */
export function checkDerived(plan: Plan): void {
  const targets = new Set(plan.files.map((f) => f.target))
  const seen = new Set<string>()
  for (const d of plan.derived) {
    if (safeModelPath(d.target, 'derived file') !== d.target)
      throw errors.pathUnsafe(d.target, 'is not in normal form (write it as `a/b.txt`)')
    if (targets.has(d.target) || seen.has(d.target))
      throw errors.pathCollision(
        d.target,
        `the derived file of \`${d.source}\``,
        targets.has(d.target) ? 'a model file' : 'another derived file',
      )
    seen.add(d.target)
  }
}
