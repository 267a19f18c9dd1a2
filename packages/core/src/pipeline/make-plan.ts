// The plan, before any model byte moves: every source listed (paths made safe, sizes checked,
// collisions between sources refused), then each transform applied in recipe order, then the
// files grouped into layers.
import type { SourceInstance, TransformInstance } from '../contract/component.js'
import type { ModelFile } from '../contract/model-file.js'
import { DEFAULT_MAX_LAYERS, type Plan, type PlannedFile, type PlannedLayer } from '../contract/plan.js'
import { errors } from '../errors/core-errors.js'
import { normalizePrefix, safeModelPath } from '../files/model-path.js'
import { Annotation } from '../oci/media-types.js'
import { checkDerived, planLayers } from '../plan/plan-layers.js'
import type { Recipe } from '../recipe/load-recipe.js'
import { guard, type Created } from './run-context.js'

export async function listSources(recipe: Recipe, baseLayers: number, sources: Created<SourceInstance>[]): Promise<Plan> {
  const files: PlannedFile[] = []
  const byTarget = new Map<string, { planned: PlannedFile; index: number }>()
  const annotations: Record<string, string> = {}
  const label = (i: number, type: string, origin?: string) => origin ?? `sources[${i}] (\`${type}\`)`
  for (const [i, { type, instance }] of sources.entries()) {
    const listed = await guard(type, 'list', () => listOne(instance))
    for (const planned of listed.files.map((file): PlannedFile => ({ file, target: safeModelPath(file.path), source: type }))) {
      const other = byTarget.get(planned.target)
      if (other)
        throw errors.pathCollision(
          planned.target,
          label(other.index, other.planned.source, other.planned.file.origin),
          label(i, type, planned.file.origin),
        )
      byTarget.set(planned.target, { planned, index: i })
      files.push(planned)
    }
    Object.assign(annotations, listed.annotations)
    const card = listed.modelcard === undefined ? undefined : byTarget.get(safeModelPath(listed.modelcard))?.planned
    if (card && !files.some((f) => f.modelcard)) card.modelcard = true
  }
  return {
    prefix: normalizePrefix(recipe.image.prefix),
    files,
    derived: [],
    layering: { strategy: 'per-file', groupBelowBytes: 1 << 20, maxLayers: DEFAULT_MAX_LAYERS },
    compression: recipe.image.compression,
    modelcardCompression: 'gzip',
    annotations,
    labels: {},
    baseLayers,
  }
}

/** One source's listing, checked: safe paths and real sizes are the source's to give. */
async function listOne(
  instance: SourceInstance,
): Promise<{ files: ModelFile[]; annotations: Record<string, string>; modelcard: string | undefined }> {
  const files: ModelFile[] = []
  for await (const file of instance.list()) {
    safeModelPath(file.path)
    if (!Number.isSafeInteger(file.size) || file.size < 0)
      throw errors.planInvalid(`\`${file.path}\` has no valid size (${String(file.size)})`)
    files.push(file)
  }
  return { files, annotations: instance.annotations?.() ?? {}, modelcard: instance.modelcard?.() }
}

/** Each transform in turn; what one returns must still be a plan. */
export async function applyTransforms(plan: Plan, transforms: Created<TransformInstance>[]): Promise<Plan> {
  let current = plan
  for (const t of transforms) {
    const next = await guard(t.type, 'apply', () => t.instance.apply(current))
    if (!next || !Array.isArray(next.files) || !Array.isArray(next.derived) || typeof next.prefix !== 'string') {
      throw errors.componentFailed(
        t.type,
        'apply',
        errors.planInvalid('apply() did not return a plan (return `{ ...plan, files }`, with `files` and `derived` lists)'),
      )
    }
    for (const f of next.files) safeModelPath(f.target)
    current = next
  }
  checkDerived(current)
  return current
}

/** The plan's layers: model files as planLayers groups them, then one per derived file. */
export function layersOf(plan: Plan): { model: PlannedLayer[]; derived: PlannedLayer[] } {
  return { model: planLayers(plan), derived: plan.derived.map((d) => derivedLayer(d.target, plan)) }
}

/** A derived file's layer, before its content exists: size 0 until it is built. */
function derivedLayer(target: string, plan: Plan): PlannedLayer {
  return {
    files: [{ target, source: 'derived', file: { path: target, size: 0, open: async () => (async function* () {})() } }],
    annotations: { [Annotation.title]: target },
    compression: plan.compression,
  }
}
