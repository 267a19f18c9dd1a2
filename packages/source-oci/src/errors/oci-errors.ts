// The errors source `oci` raises on purpose, one factory per code: what is not a model artifact
// (named for what it is), a layer it cannot read, a tar it cannot trust, bytes that are not what
// the artifact says. Messages name the artifact and the layer; never a credential.
import { ModelcarError } from '@modelcar/core'

const KNOWN_ARTIFACTS =
  'source `oci` reads CNCF ModelPack artifacts (`application/vnd.cncf.model.*`, and the older `application/vnd.cnai.model.*`), Docker model artifacts (`application/vnd.docker.ai.*`) and KitOps ModelKits (`application/vnd.kitops.modelkit.*`)'

export const ociErrors = {
  /** The ref is not in the form the source takes. */
  refInvalid(ref: string, why: string): ModelcarError {
    return new ModelcarError('OCI_REF_INVALID', `\`${ref}\` ${why}`, {
      hint: 'write `oci-layout:PATH[:TAG]` or `registry:HOST/REPO[:TAG|@sha256:…]`',
      input: true,
    })
  },
  /** What the ref names is something else (a container image, another kind of artifact). */
  notAModel(ref: string, what: string, hint?: string): ModelcarError {
    return new ModelcarError('OCI_NOT_A_MODEL', `\`${ref}\` is ${what}, not a model artifact`, {
      hint: hint ?? `${KNOWN_ARTIFACTS}; an image to put a model on goes in \`base:\``,
      input: true,
    })
  },
  /** An index holding more than one model artifact: the recipe must say which. */
  manyModels(ref: string, digests: string[]): ModelcarError {
    return new ModelcarError('OCI_MANY_MODELS', `\`${ref}\` holds ${digests.length} model artifacts`, {
      hint: `name one by its digest (\`registry:HOST/REPO@sha256:…\`): ${digests.map((d) => `\`${d}\``).join(', ')}`,
      input: true,
    })
  },
  /** The tag or digest is not in the registry. */
  refMissing(ref: string): ModelcarError {
    return new ModelcarError('OCI_REF_MISSING', `\`${ref}\` is not in the registry`, {
      hint: 'check the repository, the tag or digest (`skopeo list-tags docker://HOST/REPO`), and the credentials',
      input: true,
    })
  },
  /** A layer whose media type says nothing this source can read. */
  layerUnknown(ref: string, index: number, mediaType: string): ModelcarError {
    return new ModelcarError(
      'OCI_LAYER_UNKNOWN',
      `layer ${index + 1} of \`${ref}\` has media type \`${mediaType}\`, which source \`oci\` cannot read`,
      {
        hint: `${KNOWN_ARTIFACTS}: raw files, and tar archives (plain, gzip or zstd)`,
        input: true,
      },
    )
  },
  /** A raw layer with nothing that names its file. */
  layerUnnamed(ref: string, index: number, mediaType: string): ModelcarError {
    return new ModelcarError('OCI_LAYER_UNNAMED', `layer ${index + 1} of \`${ref}\` (\`${mediaType}\`) names no file path`, {
      hint: 'a raw layer needs an `org.cncf.model.filepath` (or `org.opencontainers.image.title`) annotation',
      input: true,
    })
  },
  /** A tar layer that is not one, or uses what a model file cannot be (sparse files, volumes). */
  tarInvalid(layer: string, why: string): ModelcarError {
    return new ModelcarError('OCI_TAR_INVALID', `layer \`${layer}\` is not a tar archive this source can read: ${why}`, {
      hint: 'the artifact is damaged, or was written by a tool that uses tar features models do not need',
    })
  },
  /** The bytes of a layer are not what the listing read in them (another file, another size, one more file). */
  layerChanged(layer: string, why: string): ModelcarError {
    return new ModelcarError('OCI_LAYER_CHANGED', `layer \`${layer}\` ${why}`, {
      hint: 'its bytes differ from what the listing read (a registry that serves ranges wrongly, or a damaged layout); nothing was committed',
    })
  },
  /** A file read out of a layer whose bytes do not hash to what a verified pass found. */
  entryDigestMismatch(path: string, expected: string, actual: string): ModelcarError {
    return new ModelcarError('SOURCE_DIGEST_MISMATCH', `\`${path}\` has digest \`${actual}\` but its verified layer held \`${expected}\``, {
      hint: 'the content changed between two reads of the same layer; nothing was committed',
    })
  },
  /** Reading a zstd layer on a Node.js without zstd. */
  zstdUnavailable(layer: string): ModelcarError {
    return new ModelcarError('OCI_ZSTD_UNAVAILABLE', `layer \`${layer}\` is zstd-compressed, and this Node.js cannot decompress zstd`, {
      hint: 'run modelcar on Node.js 22.15 or newer',
      input: true,
    })
  },
}
