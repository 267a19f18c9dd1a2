// Transform `checksums`: a SHA256SUMS file of every model file, in the format `sha256sum -c`
// reads, so whoever unpacks the image can check the model. It is a derived file: the engine
// hashes every file while it streams anyway and hands the digests to build(), so nothing here
// reads the model or wraps a source's open().
import { defineTransform, ModelcarError, safeModelPath, Type, withDefault, type StreamedFile } from '@modelcar/core'

export const checksumsSchema = Type.Object(
  {
    file: withDefault(
      Type.String({
        description:
          'Where the checksum file goes, under the image prefix. Its lines name the files relative to the prefix: run `sha256sum -c` there.',
        minLength: 1,
        examples: ['SHA256SUMS', 'meta/SHA256SUMS'],
      }),
      'SHA256SUMS',
    ),
  },
  { additionalProperties: false },
)

/** This plugin's error codes: stable, for whoever matches on them. */
export const ChecksumsError = {
  /** `file` is not a path inside the image prefix. */
  fileInvalid: 'CHECKSUMS_FILE_INVALID',
  /** A model file, or another transform's derived file, already has the target. */
  targetTaken: 'CHECKSUMS_TARGET_TAKEN',
} as const

export const checksumsTransform = defineTransform({
  type: 'checksums',
  description: 'Adds a SHA256SUMS file (what `sha256sum -c` checks) of every model file, from the digests computed while streaming.',
  schema: checksumsSchema,
  create(config) {
    const target = checksumTarget(config.file)
    return {
      apply(plan) {
        const file = plan.files.find((f) => f.target === target)
        const derived = plan.derived.find((d) => d.target === target)
        if (file || derived) {
          const taker = file ? `a model file from \`${file.source}\`` : `the derived file of \`${derived!.source}\``
          throw new ModelcarError(ChecksumsError.targetTaken, `\`${target}\` is already in the image: ${taker}`, {
            hint: 'set `file:` to a name the model does not use, e.g. `file: SHA256SUMS.modelcar`',
            input: true,
          })
        }
        return { ...plan, derived: [...plan.derived, { target, source: 'checksums', build: sha256sums }] }
      },
    }
  },
})

/** `file` as a target under the prefix; a path that leaves it is the recipe's mistake. */
function checksumTarget(file: string): string {
  try {
    return safeModelPath(file, 'checksum file')
  } catch (err) {
    throw new ModelcarError(ChecksumsError.fileInvalid, `\`file: ${file}\` is not a path inside the image prefix`, {
      hint: 'give a relative path such as `SHA256SUMS` or `meta/SHA256SUMS`',
      input: true,
      cause: err,
    })
  }
}

/**
 * GNU `sha256sum` output, one line per file sorted by path: `<hex>  <path>`. A path with a
 * backslash or a line break is escaped and its line starts with `\`, as sha256sum writes it, so
 * `sha256sum -c` reads every line back.
 */
export function sha256sums(files: readonly StreamedFile[]): string {
  const sorted = [...files].sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0))
  return sorted
    .map((f) => {
      const hex = f.digest.replace(/^sha256:/, '')
      const escaped = f.target.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r')
      return `${escaped === f.target ? '' : '\\'}${hex}  ${escaped}\n`
    })
    .join('')
}
