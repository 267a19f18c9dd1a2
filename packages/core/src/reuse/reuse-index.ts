// Where a planned layer may already exist: in the image a sink holds at its target (found by the
// facts in its annotations), in the local record of layers written before (found by key), or, for
// a raw layer of a file whose sha256 the source knows, under that digest itself. A match names the
// layer's bytes; whether each sink has them is asked of the sink (HEAD for a registry, the file
// for a layout) before the engine decides not to read the file.
import type { PlannedLayer } from '../contract/plan.js'
import { RAW_LAYER_MEDIA_TYPE } from '../layer/layer-encoder.js'
import type { Descriptor } from '../oci/types.js'
import { factsOf, heldFacts, layerKeys, type FileFacts } from './layer-facts.js'
import type { LayerRecord } from './layer-record.js'

export interface ReuseCandidate {
  descriptor: Pick<Descriptor, 'mediaType' | 'digest' | 'size'>
  diffId: string
  /** Each file's content digest, as the layer's annotations must say it. */
  digests: Map<string, string>
  /** Where it was found, for messages. */
  from: string
}

interface Held {
  encoding: string
  diffId: string
  file: FileFacts
  desc: Descriptor
  from: string
}

export class ReuseIndex {
  private readonly held: Held[] = []

  constructor(private readonly record: LayerRecord | undefined) {}

  /** Adds the layers a sink's target holds. */
  addHeld(layers: readonly Descriptor[], from: string): void {
    for (const desc of layers) {
      const facts = heldFacts(desc.annotations)
      if (facts) this.held.push({ encoding: facts.encoding, diffId: facts.diffId ?? desc.digest, file: facts.file, desc, from })
    }
  }

  find(layer: PlannedLayer, encoding: string): ReuseCandidate | undefined {
    const own = ownDigest(layer)
    if (own) return own
    const files = factsOf(layer)
    const recorded = this.record?.find(layerKeys(encoding, files))
    if (recorded) {
      const digests = new Map(recorded.files.flatMap((f) => (f.digest ? [[f.target, f.digest] as const] : [])))
      return {
        descriptor: { mediaType: recorded.mediaType, digest: recorded.digest, size: recorded.size },
        diffId: recorded.diffId,
        digests,
        from: 'the local record',
      }
    }
    if (files.length !== 1) return undefined
    const want = files[0]!
    const hit = this.held.find((h) => h.encoding === encoding && sameFile(h.file, want))
    if (!hit) return undefined
    const digests = new Map(hit.file.digest ? [[want.target, hit.file.digest] as const] : [])
    return {
      descriptor: { mediaType: hit.desc.mediaType, digest: hit.desc.digest, size: hit.desc.size },
      diffId: hit.diffId,
      digests,
      from: hit.from,
    }
  }
}

/** The same path, size and mode, and content named the same way (digest, or portable identity). */
function sameFile(held: FileFacts, want: FileFacts): boolean {
  if (held.target !== want.target || held.size !== want.size || held.executable !== want.executable) return false
  return (!!want.digest && held.digest === want.digest) || (!!want.identity && held.identity === want.identity)
}

/**
 * A raw layer is the file itself: when the source knows the file's sha256 (a Hub LFS oid), that is
 * the layer's digest before a byte is read, and a sink holding it needs nothing.
 */
function ownDigest(layer: PlannedLayer): ReuseCandidate | undefined {
  const only = layer.files.length === 1 ? layer.files[0]! : undefined
  const digest = only?.file.digest
  if (!layer.raw || !only || !digest?.startsWith('sha256:')) return undefined
  return {
    descriptor: { mediaType: RAW_LAYER_MEDIA_TYPE, digest, size: only.file.size },
    diffId: digest,
    digests: new Map([[only.target, digest]]),
    from: 'the file’s own digest',
  }
}
