// `modelcar mirror CATALOG --emit kubernetes`: the manifests that run a catalogue as shards on a
// cluster, printed as YAML documents for `kubectl apply -f -`. Everything is checked first — the
// arguments, whether the catalogue can run in the pod, every object against the Kubernetes schemas —
// so what is printed is what the API server accepts.
import fs from 'node:fs/promises'
import path from 'node:path'
import { errors, ModelcarError, type Catalog } from '@modelcar/core'
import { stringify } from 'yaml'
import { catalogKey, checkImage, checkNamespace, checkSchedule, objectName } from './kubernetes-names.js'
import { mirrorObjects, type MirrorDeployment, type MirrorObject } from './mirror-manifests.js'
import { POD_PATHS, SECRETS } from './mirror-pod.js'
import { podFitProblems } from './pod-fit.js'

export interface EmitOptions {
  file: string
  catalog: Catalog
  shards: number | undefined
  image: string | undefined
  schedule: string | undefined
  namespace: string | undefined
  env: NodeJS.ProcessEnv
}

/** A ConfigMap holds at most 1 MiB, names and all. */
const CONFIG_MAP_MAX_BYTES = 1 << 20

export async function emitKubernetes(opts: EmitOptions): Promise<string> {
  const deployment = await deploymentOf(opts)
  const objects = mirrorObjects(deployment)
  for (const o of objects) validate(o)
  return (
    header(deployment, path.basename(opts.file), opts.catalog.models.length) +
    objects.map((o) => stringify(o.toJSON(), { lineWidth: 0 })).join('---\n')
  )
}

async function deploymentOf(opts: EmitOptions): Promise<MirrorDeployment> {
  if (opts.shards === undefined)
    throw errors.argumentInvalid(
      '`--emit kubernetes` needs `--shards N`: the number of pods that share the catalogue',
      `the catalogue has ${opts.catalog.models.length} models; e.g. \`--shards ${Math.min(opts.catalog.models.length, 4)}\``,
    )
  if (opts.shards > opts.catalog.models.length)
    throw errors.argumentInvalid(
      `--shards ${opts.shards} is more than the catalogue’s ${opts.catalog.models.length} models: some pods would have nothing to mirror`,
      `give at most \`--shards ${opts.catalog.models.length}\``,
    )
  if (opts.image === undefined)
    throw errors.argumentInvalid(
      '`--emit kubernetes` needs `--image IMG`: the modelcar image the pods run',
      'e.g. `--image quay.io/acme/modelcar:0.1.0`; docs/kubernetes.md builds one with modelcar',
    )
  checkImage(opts.image)
  checkNamespace(opts.namespace)
  checkSchedule(opts.schedule)
  const catalogText = await fs.readFile(opts.file, 'utf8')
  if (Buffer.byteLength(catalogText) > CONFIG_MAP_MAX_BYTES - 4096)
    throw errors.argumentInvalid(
      `catalogue \`${opts.file}\` is too large for a ConfigMap (${Buffer.byteLength(catalogText)} bytes; at most about 1 MiB)`,
      'split it into several catalogues, each emitted with its own name',
    )
  const problems = await podFitProblems(opts.catalog, catalogText)
  if (problems.length) throw errors.recipeInvalid(opts.file, problems, 'catalogue')
  return {
    name: objectName(opts.file),
    namespace: opts.namespace,
    catalogFile: catalogKey(opts.file),
    catalogText,
    shards: opts.shards,
    image: opts.image,
    schedule: opts.schedule?.trim(),
  }
}

/** The model's own schema check (types, required fields, enums); a failure here is modelcar's bug, not the user's. */
function validate(o: MirrorObject): void {
  try {
    o.validate()
  } catch (err) {
    throw new ModelcarError(
      'KUBERNETES_MANIFEST_INVALID',
      `modelcar made a ${o.kind} the Kubernetes schema refuses: ${(err as Error).message}`,
      {
        hint: 'this is a bug in modelcar: please report it with the command line',
        cause: err,
      },
    )
  }
}

/** Comments above the documents: what they run, and the Secrets to create. */
function header(d: MirrorDeployment, fileName: string, models: number): string {
  const ns = d.namespace ? ` -n ${d.namespace}` : ''
  const what = d.schedule ? `a CronJob (\`${d.schedule}\`) whose Job runs` : 'an Indexed Job of'
  return [
    `# modelcar mirror ${fileName} on Kubernetes: ${what} ${d.shards} pods, pod I mirrors shard I/${d.shards}`,
    `# of the ${models} models (image ${d.image}). Apply: kubectl apply${ns} -f FILE`,
    '# Secrets the pods read, each optional (create those the catalogue needs, in the same namespace):',
    `#   kubectl create secret generic ${SECRETS.hfToken.name}${ns} --from-literal=${SECRETS.hfToken.key}=hf_...`,
    `#   kubectl create secret generic ${SECRETS.registryAuth.name}${ns} --from-file=${SECRETS.registryAuth.key}=PATH/TO/auth.json`,
    `#   kubectl create secret generic ${SECRETS.aws.name}${ns} --from-literal=AWS_ACCESS_KEY_ID=... --from-literal=AWS_SECRET_ACCESS_KEY=...`,
    `# The layer record lives in ${POD_PATHS.cache} for the pod's life; the registry itself tells a re-run what is there.`,
    '',
  ].join('\n')
}
