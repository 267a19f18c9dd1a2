// Shared by the Kubernetes tests: the manifests `modelcar mirror --emit kubernetes` prints, read
// back and checked against the Kubernetes schemas (the kubernetes-models classes' validate()), and
// the Job's pod made real on this machine: its ConfigMap written to a folder, its optional Secrets
// absent (empty folders, unset variables), its emptyDirs as folders, its command and environment
// as the container sees them — to run with this machine's node, or in podman with the image.
import { chmod, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CronJob } from 'kubernetes-models/batch/v1/CronJob'
import { Job } from 'kubernetes-models/batch/v1/Job'
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap'
import type { IContainer } from 'kubernetes-models/v1/Container'
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec'
import { expect } from 'vitest'
import { parseAllDocuments } from 'yaml'
import type { RunResult } from '../../tools/harness/tools.js'

/** Where the modelcar image keeps the CLI (examples/container): what the Job's command runs with the image's node. */
export const IMAGE_BIN = '/opt/modelcar/node_modules/@modelcar/cli/bin/modelcar.js'

/** An object as printed: plain data. */
export type KubeObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } } & Record<string, unknown>

const MODELS = { ConfigMap, Job, CronJob } as const

/** Every YAML document of the CLI's stdout, each validated by the model of its kind. */
export function manifestsOf(result: RunResult): KubeObject[] {
  expect(result.code, `modelcar mirror --emit kubernetes:\n${result.stderr}`).toBe(0)
  const docs = parseAllDocuments(result.stdout)
  const objects = docs.map((d) => {
    expect(d.errors, 'YAML errors').toEqual([])
    return d.toJS() as KubeObject
  })
  for (const o of objects) validateObject(o)
  return objects
}

/** Throws what the Kubernetes schema says is wrong with `o` (kinds other than the emitted ones fail). */
export function validateObject(o: KubeObject): void {
  const Model = MODELS[o.kind as keyof typeof MODELS]
  if (!Model) throw new Error(`no model for kind \`${o.kind}\``)
  expect(o.apiVersion, `apiVersion of ${o.kind}`).toBe(Model.apiVersion)
  new Model(o as never).validate()
}

export function only<K extends keyof typeof MODELS>(objects: KubeObject[], kind: K): InstanceType<(typeof MODELS)[K]> {
  const found = objects.filter((o) => o.kind === kind)
  expect(found, `${kind} objects`).toHaveLength(1)
  return new MODELS[kind](found[0] as never) as InstanceType<(typeof MODELS)[K]>
}

export interface Pod {
  container: IContainer
  spec: IPodSpec
  /** Each volume mount: the folder on this machine that stands for it. */
  mounts: { path: string; host: string; readOnly: boolean }[]
  /** The container's environment: its values, what Kubernetes adds (JOB_COMPLETION_INDEX), no Secret (none exists). */
  env: Record<string, string>
}

/**
 * The pod `index` of the Job: the ConfigMap's files in a folder, each optional Secret an empty
 * folder, each emptyDir a folder anyone may write (as the pod's user, like an emptyDir with fsGroup).
 */
export async function podOf(job: Job, configMap: ConfigMap, index: number, dir: string): Promise<Pod> {
  const spec = job.spec!.template.spec!
  expect(spec.containers, 'containers of the pod').toHaveLength(1)
  const container = spec.containers[0]!
  const volumes = new Map((spec.volumes ?? []).map((v) => [v.name, v]))
  const mounts: Pod['mounts'] = []
  for (const m of container.volumeMounts ?? []) {
    const volume = volumes.get(m.name)
    expect(volume, `volume ${m.name}`).toBeDefined()
    const host = join(dir, `volume-${m.name}`)
    await mkdir(host, { recursive: true })
    if (volume!.configMap) {
      expect(volume!.configMap.name).toBe(configMap.metadata!.name)
      for (const [key, text] of Object.entries(configMap.data ?? {})) await writeFile(join(host, key), text)
    } else if (volume!.secret) {
      expect(volume!.secret.optional, `Secret ${volume!.secret.secretName} is optional`).toBe(true)
    } else {
      expect(volume!.emptyDir?.sizeLimit, `volume ${m.name}: a size-limited emptyDir`).toBeDefined()
      await chmod(host, 0o777)
    }
    mounts.push({ path: m.mountPath, host, readOnly: m.readOnly === true })
  }
  const env: Record<string, string> = { JOB_COMPLETION_INDEX: String(index) }
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value
    else expect(e.valueFrom?.secretKeyRef?.optional, `${e.name} comes from an optional Secret`).toBe(true)
  }
  return { container, spec, mounts, env }
}

/** A path in the pod as this machine has it (a path under a mount goes to the mount's folder). */
export function hostPathOf(pod: Pod, path: string): string {
  const m = [...pod.mounts].sort((a, b) => b.path.length - a.path.length).find((x) => path === x.path || path.startsWith(`${x.path}/`))
  return m ? m.host + path.slice(m.path.length) : path
}

/** A catalogue of Hub models (each naming the emulator as its endpoint: the pod has no HF_ENDPOINT) into the test registry. */
export function hubCatalog(hubUrl: string, registryHost: string, repos: string[]): string {
  return [
    'apiVersion: modelcar/v1',
    'kind: Catalog',
    'template:',
    '  sinks:',
    '    - type: registry',
    `      ref: "${registryHost}/fleet/{name}:{revision}"`,
    'models:',
    ...repos.map((repo) => `  - source: { type: hf, repo: ${repo}, endpoint: "${hubUrl}" }`),
    '',
  ].join('\n')
}
