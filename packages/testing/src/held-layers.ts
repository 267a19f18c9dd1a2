// The sink kit's rules for heldLayers(), which a sink may have: the engine reads the layers of
// the image the target holds, and the annotations that say what each was made from, to skip the
// files those layers already hold. So a new target lists none, and after a commit a new instance
// lists the committed image's layers with their annotations as the image gave them.
import type { Descriptor, EditedImage, SinkInstance } from '@modelcar/core'
import type { Step } from './kit-step.js'

export const HELD_EMPTY_CHECK = 'heldLayers() lists nothing on an empty target'
export const HELD_COMMITTED_CHECK = "heldLayers() of a new instance lists the committed image's layers with their annotations"

/** The layers the sink says its target holds; undefined for a sink without heldLayers(). */
export async function heldLayersOf(
  sink: SinkInstance,
  step: Step,
  when: string,
  fail: (m: string) => never,
): Promise<Descriptor[] | undefined> {
  if (sink.heldLayers === undefined) return undefined
  if (typeof sink.heldLayers !== 'function') fail('the instance has a `heldLayers` that is not a function')
  const held: unknown = await step(`heldLayers() ${when}`, () => sink.heldLayers!())
  if (!Array.isArray(held)) fail(`heldLayers() ${when} returned ${describe(held)}, not an array of descriptors`)
  for (const d of held as unknown[]) {
    const desc = d as Partial<Descriptor> | null
    if (typeof desc?.digest !== 'string' || typeof desc.size !== 'number' || typeof desc.mediaType !== 'string')
      fail(`heldLayers() ${when} lists ${describe(d)}, not a descriptor (mediaType, digest, size)`)
  }
  return held as Descriptor[]
}

/** On a target that holds no image: nothing. */
export function checkHeldEmpty(held: Descriptor[], fail: (m: string) => never): void {
  if (held.length === 0) return
  fail(
    `heldLayers() on an empty target lists ${held.length} layer(s) (\`${held[0]!.digest}\`, …): a target that holds no image holds no layers; return []`,
  )
}

/** After a commit: every layer of the image, with its annotations, and nothing that is not one of its layers. */
export function checkHeldCommitted(held: Descriptor[], image: EditedImage, fail: (m: string) => never): void {
  const layers = image.images.flatMap((i) => i.layers)
  for (const layer of layers) {
    const found = held.find((d) => d.digest === layer.digest)
    if (!found)
      fail(
        `after a commit, heldLayers() of a new instance does not list layer \`${layer.digest}\` of the committed image: the engine would read again every file the target already holds`,
      )
    if (found.size !== layer.size || found.mediaType !== layer.mediaType)
      fail(
        `heldLayers() lists \`${layer.digest}\` as ${found.size} bytes of \`${found.mediaType}\`; the image has ${layer.size} bytes of \`${layer.mediaType}\``,
      )
    const lost = Object.entries(layer.annotations ?? {}).find(([key, value]) => found.annotations?.[key] !== value)
    if (lost)
      fail(
        `heldLayers() lists \`${layer.digest}\` without its annotation \`${lost[0]}\` (the image gave \`${lost[1]}\`, heldLayers() ${found.annotations?.[lost[0]] === undefined ? 'none' : `\`${found.annotations[lost[0]]}\``}): the engine finds a layer by what its annotations say it was made from`,
      )
  }
  const stray = held.find((d) => !layers.some((l) => l.digest === d.digest))
  if (stray)
    fail(
      `heldLayers() lists \`${stray.digest}\` (${stray.mediaType}), which is not a layer of the image at the target: list the layers of the image the tag points at, nothing else`,
    )
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value)
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? `\`${JSON.stringify(value).slice(0, 80)}\`` : `${typeof value} \`${String(value)}\``
}
