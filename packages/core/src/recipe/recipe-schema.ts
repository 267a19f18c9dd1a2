// The recipe's own fields (everything but the components' configs), as a schema that validates
// and documents them.
import { Type, type Static } from '@sinclair/typebox'
import { ModelPackDescriptorSchema, ModelPackModelConfigSchema } from '../modelpack/config-schema.js'

export const API_VERSION = 'modelcar/v1'

export const ComponentEntrySchema = Type.Object(
  {
    type: Type.String({
      description:
        'The component: an official short name (`local`, `hf`, `oci-layout`, …), an npm package, or a bare name looked up as `modelcar-<kind>-<name>`.',
      examples: ['local'],
    }),
  },
  { additionalProperties: true },
)

export const ModelPackSchema = Type.Object(
  {
    layers: Type.Optional(
      Type.Union([Type.Literal('tar'), Type.Literal('raw')], {
        description:
          'How the artifact holds each file. `tar`: the Modelcar’s layers themselves (no extra bytes). `raw`: each file as a blob of its own, its digest the file’s sha256 (known before download for a Hub LFS file); only with `formats: [modelpack]`.',
        default: 'tar',
        examples: ['raw'],
      }),
    ),
    descriptor: Type.Optional(ModelPackDescriptorSchema),
    config: Type.Optional(ModelPackModelConfigSchema),
  },
  {
    additionalProperties: false,
    description:
      'The ModelPack artifact (with `modelpack` in `formats`): its layers, and fields of its config that override what modelcar fills in (from the source, the model card, `config.json` and the safetensors headers).',
  },
)

export const ImageSchema = Type.Object(
  {
    prefix: Type.Optional(
      Type.String({
        description: 'Absolute folder in the image the model goes to, starting with `/` (KServe expects `/models`).',
        default: '/models',
        examples: ['/models'],
        pattern: '^/',
      }),
    ),
    compression: Type.Optional(
      Type.Union([Type.Literal('none'), Type.Literal('gzip'), Type.Literal('zstd')], {
        description:
          'Compression of model layers. Weights do not compress and uncompressed layers unpack in parallel, so `none` is the default; `gzip`/`zstd` pay off only for text.',
        default: 'none',
        examples: ['none'],
      }),
    ),
    formats: Type.Optional(
      Type.Array(Type.Union([Type.Literal('modelcar'), Type.Literal('modelpack')]), {
        description:
          'What the run writes. `modelcar`: the runnable image (the model under `prefix` on the base, what KServe runs). `modelpack`: a CNCF ModelPack manifest of the same model (what modctl, CRI-O, Docker Model Runner, KitOps and Harbor read), in the same index as the runnable manifests (platform `unknown/unknown`) and sharing their layers. `[modelpack]` alone writes only the artifact (no base).',
        default: ['modelcar'],
        examples: [['modelcar', 'modelpack']],
        minItems: 1,
        uniqueItems: true,
      }),
    ),
    modelpack: Type.Optional(ModelPackSchema),
  },
  { additionalProperties: false, description: 'How the model is laid out in the image.' },
)

export const AttachSchema = Type.Object(
  {
    sbom: Type.Optional(
      Type.Literal('cyclonedx', {
        description:
          'A bill of materials of the image, attached as an OCI 1.1 referrer: a CycloneDX 1.6 ML-BOM (the model as a `machine-learning-model` component, every file with its SHA-256 and origin, the licence from the model card, the base image). Built from the digests of the run: nothing is read again, also when layers are reused.',
        examples: ['cyclonedx'],
      }),
    ),
    provenance: Type.Optional(
      Type.Boolean({
        description:
          'An in-toto statement with SLSA provenance v1 (the recipe’s digest, the sources at their commits and versions, the base digest, modelcar as the builder), attached as a referrer; in a DSSE envelope signed with `sign` when it is set.',
        default: false,
        examples: [true],
      }),
    ),
  },
  { additionalProperties: false, description: 'Documents attached to the image as OCI 1.1 referrers (the image digest is their subject).' },
)

export const SignSchema = Type.Object(
  {
    key: Type.Optional(
      Type.String({
        description:
          'A private key to sign with in cosign’s format (so `cosign verify --key` accepts the signature): a PKCS#8 PEM file (ECDSA P-256) or a cosign key file (`cosign generate-key-pair`, its password in `COSIGN_PASSWORD`), relative to the recipe; or `env://NAME` for the PEM in an environment variable. The key never appears in output, logs or the image.',
        minLength: 1,
        examples: ['./cosign.key', 'env://COSIGN_PRIVATE_KEY'],
      }),
    ),
    keyless: Type.Optional(
      Type.Boolean({
        description:
          'Sigstore keyless signing: a short-lived certificate from Fulcio for the OIDC identity of `SIGSTORE_ID_TOKEN` (or the CI’s ambient token: GitHub Actions), the signature logged in Rekor, stored as a Sigstore bundle referrer.',
        default: false,
        examples: [true],
      }),
    ),
    fulcioUrl: Type.Optional(
      Type.String({
        description: 'Fulcio for keyless signing. Default: the public Sigstore instance.',
        examples: ['https://fulcio.sigstore.dev'],
      }),
    ),
    rekorUrl: Type.Optional(
      Type.String({
        description: 'Rekor for keyless signing. Default: the public Sigstore instance.',
        examples: ['https://rekor.sigstore.dev'],
      }),
    ),
    identity: Type.Optional(
      Type.String({
        description:
          'The repository a signature names the image in (cosign’s `docker-reference`) for sinks that are no registry (`oci-layout`). Default: the repository of the first registry sink, else `localhost/model`.',
        examples: ['quay.io/acme/granite'],
        minLength: 1,
      }),
    ),
  },
  { additionalProperties: false, description: 'Signs the image (and the provenance): `key` or `keyless`.' },
)

export const RecipeSchema = Type.Object(
  {
    apiVersion: Type.Literal(API_VERSION, {
      description: `Recipe format version; this modelcar reads \`${API_VERSION}\`.`,
      examples: [API_VERSION],
    }),
    base: Type.Optional(
      Type.Union([Type.String({ minLength: 1 }), ComponentEntrySchema], {
        description:
          'The image the model goes on top of: `scratch`, `oci-layout:PATH[:TAG]`, `registry:HOST/REPO[:TAG|@sha256:…]` (the short form `TYPE:TEXT` of a base component), or a mapping with `type:` and the base’s fields.',
        default: 'scratch',
        examples: ['oci-layout:./download:latest', 'scratch', 'registry:quay.io/org/busybox:1.36'],
      }),
    ),
    platforms: Type.Optional(
      Type.Array(
        Type.String({
          description: 'OS/architecture[/variant], as in image indexes.',
          pattern: '^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$',
          examples: ['linux/amd64', 'linux/arm64/v8'],
        }),
        {
          description: 'Platforms of a `scratch` image (a base image brings its own).',
          default: ['linux/amd64'],
          examples: [['linux/amd64', 'linux/arm64']],
          minItems: 1,
          uniqueItems: true,
        },
      ),
    ),
    sources: Type.Array(ComponentEntrySchema, {
      description: 'Where model files come from.',
      minItems: 1,
      examples: [[{ type: 'local', path: './model' }]],
    }),
    transforms: Type.Optional(
      Type.Array(ComponentEntrySchema, { description: 'Steps that shape the plan: model card, annotations, layering.', default: [] }),
    ),
    image: Type.Optional(ImageSchema),
    attach: Type.Optional(AttachSchema),
    sign: Type.Optional(SignSchema),
    sinks: Type.Array(ComponentEntrySchema, {
      description: 'Where the image goes.',
      minItems: 1,
      examples: [[{ type: 'oci-layout', path: './out' }]],
    }),
  },
  { additionalProperties: false },
)

export type RecipeDocument = Static<typeof RecipeSchema>

export type AttachOptions = Static<typeof AttachSchema>
export type SignOptions = Static<typeof SignSchema>
export type ImageFormat = 'modelcar' | 'modelpack'
export type ModelPackOptions = Static<typeof ModelPackSchema>
