// The pod that mirrors one shard: the modelcar image running `modelcar mirror CATALOG --shards N`
// (Kubernetes gives each pod of an Indexed Job its JOB_COMPLETION_INDEX, which picks the shard),
// credentials from Secrets that may or may not exist, a read-only root filesystem with two small
// scratch folders, and the memory a mirror was measured to need.
import type { IContainer } from 'kubernetes-models/v1/Container'
import type { IEnvVar } from 'kubernetes-models/v1/EnvVar'
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec'
import type { IVolume } from 'kubernetes-models/v1/Volume'

/** Where the modelcar image (examples/container) keeps the CLI; the image's `node` runs it (the image has no entrypoint of its own). */
export const MODELCAR_BIN = '/opt/modelcar/node_modules/@modelcar/cli/bin/modelcar.js'

export const CONTAINER_NAME = 'mirror'

/** Where things are in the pod. */
export const POD_PATHS = {
  /** The ConfigMap with the catalogue. */
  catalog: '/etc/modelcar',
  /** The registry auth Secret; REGISTRY_AUTH_FILE names the file in it. */
  registryAuth: '/etc/modelcar-auth',
  /** The record of layers written (MODELCAR_CACHE_DIR): a few hundred bytes a layer. */
  cache: '/var/cache/modelcar',
  /** TMPDIR and HOME: nothing of a model goes there, but libraries may write a little. */
  tmp: '/tmp',
} as const

/**
 * The Secrets the pod reads, each optional (a missing one leaves its variables unset). Fixed names,
 * so the credentials of a namespace serve every catalogue mirrored in it.
 */
export const SECRETS = {
  hfToken: { name: 'modelcar-hf-token', key: 'token', env: 'HF_TOKEN' },
  registryAuth: { name: 'modelcar-registry-auth', key: 'auth.json', env: 'REGISTRY_AUTH_FILE' },
  aws: { name: 'modelcar-aws', keys: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_REGION'] },
} as const

/**
 * Peak RSS of `modelcar mirror` (Hub → registry, two models at a time, four layers each) measured
 * 269–281 MB on Node 24 (213 MB on Node 20), and the same at 1 GiB and 8 GiB: memory does not grow
 * with the model. The request covers that peak with room; the limit doubles it for what was not
 * measured (large listings, the S3 SDK) before the kernel kills the pod. A mirror hashes every byte
 * (about 4.6 CPU seconds a GiB): one core keeps up with ~200 MiB/s, two with a fast network.
 */
export const RESOURCES = {
  requests: { cpu: '1', memory: '384Mi' },
  limits: { cpu: '2', memory: '768Mi' },
} as const

/** Size limits of the two emptyDir volumes (the kubelet evicts a pod that writes more). */
export const SCRATCH_LIMITS = { cache: '64Mi', tmp: '256Mi' } as const

/** The image's `node` user; the pod runs as it, never as root. */
export const RUN_AS = 1000

/** Variables the pod sets (or may set, from a Secret): a catalogue may refer to these as `${NAME}`. */
export const POD_VARIABLES: readonly string[] = [
  SECRETS.hfToken.env,
  SECRETS.registryAuth.env,
  ...SECRETS.aws.keys,
  'MODELCAR_CACHE_DIR',
  'TMPDIR',
  'HOME',
  'JOB_COMPLETION_INDEX',
]

export function mirrorPodSpec(o: { image: string; catalogFile: string; configMap: string; shards: number }): IPodSpec {
  const container: IContainer = {
    name: CONTAINER_NAME,
    image: o.image,
    command: ['node', MODELCAR_BIN, 'mirror', `${POD_PATHS.catalog}/${o.catalogFile}`, '--shards', String(o.shards)],
    env: podEnv(),
    resources: { requests: { ...RESOURCES.requests }, limits: { ...RESOURCES.limits } },
    securityContext: {
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    },
    volumeMounts: [
      { name: 'catalog', mountPath: POD_PATHS.catalog, readOnly: true },
      { name: 'registry-auth', mountPath: POD_PATHS.registryAuth, readOnly: true },
      { name: 'cache', mountPath: POD_PATHS.cache },
      { name: 'tmp', mountPath: POD_PATHS.tmp },
    ],
  }
  return {
    // FailIndex on bad input and backoffLimitPerIndex both need Never: a failed pod is replaced, not restarted.
    restartPolicy: 'Never',
    // The pod never talks to the Kubernetes API.
    automountServiceAccountToken: false,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: RUN_AS,
      runAsGroup: RUN_AS,
      fsGroup: RUN_AS,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    containers: [container],
    volumes: podVolumes(o.configMap),
  }
}

function podEnv(): IEnvVar[] {
  const fromSecret = (name: string, secret: string, key: string): IEnvVar => ({
    name,
    valueFrom: { secretKeyRef: { name: secret, key, optional: true } },
  })
  return [
    fromSecret(SECRETS.hfToken.env, SECRETS.hfToken.name, SECRETS.hfToken.key),
    ...SECRETS.aws.keys.map((key) => fromSecret(key, SECRETS.aws.name, key)),
    { name: SECRETS.registryAuth.env, value: `${POD_PATHS.registryAuth}/${SECRETS.registryAuth.key}` },
    { name: 'MODELCAR_CACHE_DIR', value: POD_PATHS.cache },
    { name: 'TMPDIR', value: POD_PATHS.tmp },
    { name: 'HOME', value: POD_PATHS.tmp },
    // Logs read by people: no colour codes.
    { name: 'NO_COLOR', value: '1' },
  ]
}

function podVolumes(configMap: string): IVolume[] {
  return [
    { name: 'catalog', configMap: { name: configMap } },
    // Optional: without the Secret the folder is empty, the auth file is missing, and pushes go anonymous.
    {
      name: 'registry-auth',
      secret: {
        secretName: SECRETS.registryAuth.name,
        optional: true,
        items: [{ key: SECRETS.registryAuth.key, path: SECRETS.registryAuth.key }],
        defaultMode: 0o440,
      },
    },
    { name: 'cache', emptyDir: { sizeLimit: SCRATCH_LIMITS.cache } },
    { name: 'tmp', emptyDir: { sizeLimit: SCRATCH_LIMITS.tmp } },
  ]
}
