// The provenance: an in-toto statement (v1) whose subject is the image digest, with a SLSA
// provenance v1 predicate. `buildDefinition` says what was built from what: the recipe (by
// digest; its text may name secrets through `${VAR}`, so only its digest goes in), the sources at
// what they resolved to (a Hub repository at its commit, S3 objects at their versions: every
// file's origin with its sha256), and the base by digest. `runDetails.builder` is modelcar.
import { digestHex } from '../oci/digest.js'
import type { RunFacts } from './run-facts.js'

export const IN_TOTO_MEDIA_TYPE = 'application/vnd.in-toto+json'
export const IN_TOTO_STATEMENT = 'https://in-toto.io/Statement/v1'
export const SLSA_PROVENANCE = 'https://slsa.dev/provenance/v1'
/** What a modelcar recipe build is: its parameters are a recipe and the sources it names. */
export const BUILD_TYPE = 'urn:modelcar:buildtype:recipe:v1'

interface ResourceDescriptor {
  uri?: string
  name?: string
  digest?: Record<string, string>
  annotations?: Record<string, string>
}

export function slsaProvenance(f: RunFacts, subjectName: string): Uint8Array {
  const statement = {
    _type: IN_TOTO_STATEMENT,
    subject: [{ name: subjectName, digest: { sha256: digestHex(f.image.digest) } }],
    predicateType: SLSA_PROVENANCE,
    predicate: {
      buildDefinition: {
        buildType: BUILD_TYPE,
        externalParameters: { recipe: f.recipe.name, ...(f.base ? { base: f.base.reference ?? f.base.name } : {}) },
        internalParameters: { prefix: `/${f.prefix}`, ...(f.created ? { sourceDateEpoch: f.created } : {}) },
        resolvedDependencies: dependencies(f),
      },
      runDetails: {
        builder: { id: f.builder.id, version: { modelcar: f.builder.version } },
        ...(f.created ? { metadata: { finishedOn: f.created } } : {}),
      },
    },
  }
  return Buffer.from(JSON.stringify(statement))
}

function dependencies(f: RunFacts): ResourceDescriptor[] {
  const out: ResourceDescriptor[] = [{ name: 'recipe', uri: f.recipe.name, digest: { sha256: digestHex(f.recipe.digest) } }]
  const a = f.annotations
  const source = a['org.opencontainers.image.source']
  const revision = a['org.opencontainers.image.revision']
  // A repository at a commit (the Hub): the commit is a git commit id.
  if (source && revision && /^[0-9a-f]{40}$/.test(revision)) out.push({ name: 'source', uri: source, digest: { gitCommit: revision } })
  if (f.base) out.push({ name: 'base', uri: baseUri(f.base), digest: { sha256: digestHex(f.base.digest) } })
  for (const file of f.files) {
    out.push({
      name: file.target,
      ...(file.origin ? { uri: file.origin } : {}),
      digest: { sha256: digestHex(file.digest) },
    })
  }
  return out
}

/** `oci://quay.io/org/busybox:1.36` for a registry base; the base as the recipe named it otherwise. */
function baseUri(base: NonNullable<RunFacts['base']>): string {
  return base.reference ? `oci://${base.reference}` : base.name
}
