// What a run knows once its image is made, as the attachments describe it: every file with its
// sha256 (computed, verified or recorded: never read again for this), where each came from, the
// base, the recipe and the builder. The SBOM and the provenance are built from this alone.
import type { Descriptor } from '../oci/types.js'

export interface AttachedFile {
  /** Path under the image prefix: `tokenizer/vocab.json`. */
  target: string
  size: number
  /** `sha256:…` of the file's content. */
  digest: string
  /** Where it came from: `hf://org/name@<commit>/path`, `s3://bucket/key?versionId=…`. */
  origin?: string
}

export interface RunFacts {
  /** The image the attachments are about (their subject). */
  image: Descriptor
  /** `models`: the folder in the image, without slashes. */
  prefix: string
  /** Model files in plan order, then derived files. */
  files: AttachedFile[]
  /** The manifest annotations of the run (the sources' provenance, the recipe's own). */
  annotations: Readonly<Record<string, string>>
  /** The base image; undefined for scratch. */
  base: { name: string; digest: string; reference?: string } | undefined
  /** SPDX licence expressions of the model (the recipe's annotation, else the model card's front matter). */
  licenses: string[]
  /** The recipe file's name and digest. */
  recipe: { name: string; digest: string }
  builder: { id: string; version: string }
  /** RFC 3339 from SOURCE_DATE_EPOCH; undefined without it (the documents then carry no time: same inputs, same bytes). */
  created: string | undefined
}

/** The model's name as its provenance says it: the Hub repository, the image title, the source. */
export function modelName(a: Readonly<Record<string, string>>): string {
  return a['modelcar.hf.repo'] || a['org.opencontainers.image.title'] || a['org.opencontainers.image.source'] || 'model'
}
