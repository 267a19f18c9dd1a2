// Groups planned files into layers: one per file by default, small files together with
// `grouped`, and never more layers than a container runtime can mount.
import { errors } from '../errors.js'
import { Annotation } from '../oci/media-types.js'
import type { Plan, PlannedFile, PlannedLayer } from './plan.js'

const byTarget = (a: PlannedFile, b: PlannedFile) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0)

export function planLayers(plan: Plan): PlannedLayer[] {
  const cards = plan.files.filter((f) => f.modelcard)
  if (cards.length > 1)
    throw errors.planInvalid(
      `${cards.length} files are marked as model card: ${cards.map((c) => `\`${c.target}\``).join(', ')}`,
      'keep one `modelcard` transform',
    )
  const rest = plan.files.filter((f) => !f.modelcard).sort(byTarget)
  const budget = plan.layering.maxLayers - plan.baseLayers - cards.length
  if (budget < 1 && rest.length > 0) {
    throw errors.planInvalid(
      `the base image already has ${plan.baseLayers} layers; with the maximum of ${plan.layering.maxLayers} no room is left for the model`,
      'use a base with fewer layers, or raise `maxLayers` of the `layers` transform if your runtime allows it',
    )
  }

  let groups: PlannedFile[][]
  if (plan.layering.strategy === 'grouped') {
    const small = rest.filter((f) => f.file.size < plan.layering.groupBelowBytes)
    const large = rest.filter((f) => f.file.size >= plan.layering.groupBelowBytes)
    groups = [...large.map((f) => [f]), ...(small.length ? [small] : [])]
  } else {
    groups = rest.map((f) => [f])
  }
  if (groups.length > budget) groups = balance(rest, budget)

  const layers = groups.map((files) => layerOf(files.sort(byTarget), plan))
  layers.sort((a, b) => byTarget(a.files[0]!, b.files[0]!))
  for (const card of cards) {
    layers.push({ ...layerOf([card], plan), compression: plan.modelcardCompression, modelcard: true })
    layers[layers.length - 1]!.annotations[Annotation.odhLayerType] = 'modelcard'
  }
  return layers
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

function layerOf(files: PlannedFile[], plan: Plan): PlannedLayer {
  const annotations: Record<string, string> = {}
  if (files.length === 1) {
    const f = files[0]!
    annotations[Annotation.title] = f.target
    if (f.file.origin) annotations[Annotation.origin] = f.file.origin
    if (f.file.digest) annotations[Annotation.contentDigest] = f.file.digest
  }
  return { files, annotations, compression: plan.compression }
}
