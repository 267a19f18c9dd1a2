// How a new layer is named in messages and in the image config's history, and the time it is
// stamped with (SOURCE_DATE_EPOCH, else none), so the same input gives the same bytes.
import type { PlannedLayer } from '../contract/plan.js'
import { errors } from '../errors/core-errors.js'
import type { NewLayer } from '../image/edit-image.js'

export function titleOf(layer: PlannedLayer, prefix: string): string {
  return layer.files.length === 1 ? `/${prefix}/${layer.files[0]!.target}` : `${layer.files.length} files under /${prefix}`
}

export function historyOf(layer: PlannedLayer, prefix: string, mtime: number): NewLayer['history'] {
  return {
    ...(mtime ? { created: new Date(mtime * 1000).toISOString() } : {}),
    created_by: `modelcar: add ${titleOf(layer, prefix)}${layer.modelcard ? ' (model card)' : ''}`,
    comment: 'modelcar',
  }
}

/** SOURCE_DATE_EPOCH (reproducible-builds.org), else 0. */
export function sourceDateEpoch(env: Readonly<Record<string, string | undefined>>): number {
  const v = env.SOURCE_DATE_EPOCH
  if (v === undefined || v === '') return 0
  if (!/^\d+$/.test(v))
    throw errors.argumentInvalid(
      `SOURCE_DATE_EPOCH \`${v}\` is not a number of seconds`,
      'e.g. `SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)`',
    )
  return Number(v)
}
