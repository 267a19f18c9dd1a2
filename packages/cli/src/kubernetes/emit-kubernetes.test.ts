import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isModelcarError, loadCatalog, type Diagnostic } from '@modelcar/core'
import { CronJob } from 'kubernetes-models/batch/v1/CronJob'
import { Job } from 'kubernetes-models/batch/v1/Job'
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseAllDocuments } from 'yaml'
import { officialRegistry } from '../components/official-components.js'
import { emitKubernetes, type EmitOptions } from './emit-kubernetes.js'
import { catalogKey, objectName } from './kubernetes-names.js'

const CATALOG = `apiVersion: modelcar/v1
kind: Catalog
# one shared template
template:
  base: registry:quay.io/org/busybox:1.36
  sinks:
    - type: registry
      ref: "quay.io/org/models/{name}:{revision}"
models:
  - source: { type: hf, repo: ibm-granite/granite-3.1-2b-instruct, include: ["*.safetensors", "*.json"] }
  - source: { type: s3, bucket: ml-models, prefix: resnet50 }
  - source: { type: hf, repo: acme/tiny, token: "\${HF_TOKEN}" }
    tags: [v1, latest]
`

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelcar-emit-'))
})
afterAll(() => rm(dir, { recursive: true, force: true }))

let n = 0
async function emit(text: string, opts: Partial<EmitOptions> = {}, fileName = 'Team Models.yaml'): Promise<string> {
  const file = join(dir, `${++n}`, fileName)
  await mkdir(join(dir, `${n}`))
  await writeFile(file, text)
  const env = { HF_TOKEN: 'hf_local_only' }
  const catalog = await loadCatalog(file, { registry: officialRegistry(), env })
  return emitKubernetes({
    file,
    catalog,
    shards: 2,
    image: 'quay.io/acme/modelcar:0.1.0',
    schedule: undefined,
    namespace: undefined,
    env,
    ...opts,
  })
}

type Doc = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any

/** The printed documents, each checked against its kind's Kubernetes schema by the models' own validate(). */
function documents(text: string): Doc[] {
  const docs = parseAllDocuments(text)
  for (const d of docs) expect(d.errors).toEqual([])
  const out = docs.map((d) => d.toJS() as Doc)
  for (const o of out) validateObject(o)
  return out
}

function validateObject(o: Doc): void {
  const Model = { ConfigMap, Job, CronJob }[o.kind as string]
  expect(Model, `a model for kind ${o.kind}`).toBeDefined()
  expect(o.apiVersion).toBe(Model!.apiVersion)
  new Model!(o as never).validate()
}

async function problems(run: Promise<unknown>): Promise<string[]> {
  const err = await run.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(isModelcarError(err), String(err)).toBe(true)
  const e = err as { message: string; hint?: string; input: boolean; diagnostics: Diagnostic[] }
  expect(e.input).toBe(true)
  if (!e.diagnostics.length) return [`${e.message} | ${e.hint}`]
  return e.diagnostics.map((d) => `${d.location?.line}:${d.location?.col} ${d.message}`)
}

describe('mirror --emit kubernetes', () => {
  it('prints a ConfigMap with the catalogue and an Indexed Job, both valid against the Kubernetes schemas', async () => {
    const text = await emit(CATALOG)
    expect(text).toMatch(/^# modelcar mirror Team Models\.yaml on Kubernetes/)
    const [configMap, job, ...rest] = documents(text)
    expect(rest).toEqual([])
    expect(configMap!.kind).toBe('ConfigMap')
    expect(job!.kind).toBe('Job')
    for (const o of [configMap!, job!]) {
      expect(o.metadata.name).toBe('modelcar-team-models')
      expect(o.metadata.namespace).toBeUndefined()
    }
    // The catalogue as written, comments and `${HF_TOKEN}` included: its value never leaves this machine.
    expect(configMap!.data).toEqual({ 'Team-Models.yaml': CATALOG })
    expect(text).not.toContain('hf_local_only')
    const spec = job!.spec
    expect(spec).toMatchObject({ completionMode: 'Indexed', completions: 2, parallelism: 2, backoffLimitPerIndex: 3 })
    expect(spec.podFailurePolicy.rules[0]).toEqual({
      action: 'FailIndex',
      onExitCodes: { containerName: 'mirror', operator: 'In', values: [2] },
    })
  })

  it('runs its shard in a pod with credentials from optional Secrets, a read-only root and small scratch folders', async () => {
    const [, job] = documents(await emit(CATALOG))
    const pod = job!.spec.template.spec
    expect(pod.restartPolicy).toBe('Never')
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 })
    const [container, ...others] = pod.containers
    expect(others).toEqual([])
    expect(container.image).toBe('quay.io/acme/modelcar:0.1.0')
    expect(container.command).toEqual([
      'node',
      '/opt/modelcar/node_modules/@modelcar/cli/bin/modelcar.js',
      'mirror',
      '/etc/modelcar/Team-Models.yaml',
      '--shards',
      '2',
    ])
    const env = Object.fromEntries((container.env as Doc[]).map((e) => [e.name, e.value ?? e.valueFrom.secretKeyRef]))
    expect(env).toMatchObject({
      HF_TOKEN: { name: 'modelcar-hf-token', key: 'token', optional: true },
      AWS_ACCESS_KEY_ID: { name: 'modelcar-aws', key: 'AWS_ACCESS_KEY_ID', optional: true },
      AWS_SECRET_ACCESS_KEY: { name: 'modelcar-aws', key: 'AWS_SECRET_ACCESS_KEY', optional: true },
      REGISTRY_AUTH_FILE: '/etc/modelcar-auth/auth.json',
      MODELCAR_CACHE_DIR: '/var/cache/modelcar',
      TMPDIR: '/tmp',
    })
    // Kubernetes sets JOB_COMPLETION_INDEX in each pod of an Indexed Job: the pod must not override it.
    expect(env.JOB_COMPLETION_INDEX).toBeUndefined()
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false })
    expect(container.resources).toEqual({ requests: { cpu: '1', memory: '384Mi' }, limits: { cpu: '2', memory: '768Mi' } })
    const volumes = Object.fromEntries((pod.volumes as Doc[]).map((v) => [v.name, v]))
    const mounts = Object.fromEntries((container.volumeMounts as Doc[]).map((m) => [m.mountPath, volumes[m.name]]))
    expect(mounts['/etc/modelcar'].configMap).toEqual({ name: 'modelcar-team-models' })
    expect(mounts['/etc/modelcar-auth'].secret).toMatchObject({ secretName: 'modelcar-registry-auth', optional: true })
    expect(mounts['/var/cache/modelcar'].emptyDir).toEqual({ sizeLimit: '64Mi' })
    expect(mounts['/tmp'].emptyDir).toEqual({ sizeLimit: '256Mi' })
    // Every writable place is a size-limited emptyDir: no model byte can land on the node's disk.
    for (const v of pod.volumes as Doc[]) expect(v.hostPath ?? v.persistentVolumeClaim).toBeUndefined()
  })

  it('with --schedule, a CronJob (Forbid) starts the same Job; --namespace goes on every object', async () => {
    const [, job] = documents(await emit(CATALOG, { namespace: 'ml-mirror' }))
    const docs = documents(await emit(CATALOG, { schedule: '0 3 * * *', namespace: 'ml-mirror' }))
    expect(docs.map((d) => d.kind)).toEqual(['ConfigMap', 'CronJob'])
    for (const d of docs) expect(d.metadata.namespace).toBe('ml-mirror')
    const cron = docs[1]!.spec
    expect(cron).toMatchObject({ schedule: '0 3 * * *', concurrencyPolicy: 'Forbid' })
    expect(cron.jobTemplate.spec).toEqual(job!.spec)
  })

  it('the schema check refuses what Kubernetes would', async () => {
    const [configMap, job] = documents(await emit(CATALOG))
    const broken = structuredClone(job!)
    broken.spec.completions = 'two'
    expect(() => validateObject(broken)).toThrow(/completions must be integer/)
    const noImage = structuredClone(job!)
    delete noImage.spec.template.spec.containers[0].name
    expect(() => validateObject(noImage)).toThrow(/containers\/0 must have required property name/)
    expect(() => validateObject({ ...configMap, kind: 'Secret' })).toThrow()
  })

  it('names objects after the catalogue file, within what a CronJob’s pods’ hostnames allow', () => {
    expect(objectName('/x/models.yaml')).toBe('modelcar-models')
    expect(objectName('Team_Models.v2.yml')).toBe('modelcar-team-models-v2')
    expect(objectName('模型.yaml')).toBe('modelcar-catalog')
    const long = objectName(`${'a'.repeat(30)}-${'b'.repeat(30)}.yaml`)
    expect(long.length).toBeLessThanOrEqual(40)
    expect(long).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
    expect(catalogKey('/x/Team Models.yaml')).toBe('Team-Models.yaml')
    expect(catalogKey('/x/models.yaml')).toBe('models.yaml')
    expect(catalogKey('/x/模型.yaml')).toBe('catalog.yaml')
  })

  it('refuses what cannot run: no --shards or --image, more shards than models, bad names and schedules', async () => {
    expect(await problems(emit(CATALOG, { shards: undefined }))).toEqual([
      expect.stringMatching(/needs `--shards N`.*\| the catalogue has 3 models/),
    ])
    expect(await problems(emit(CATALOG, { shards: 4 }))).toEqual([
      expect.stringContaining('--shards 4 is more than the catalogue’s 3 models'),
    ])
    expect(await problems(emit(CATALOG, { image: undefined }))).toEqual([expect.stringContaining('needs `--image IMG`')])
    expect(await problems(emit(CATALOG, { image: 'Quay.io/Acme Modelcar' }))).toEqual([
      expect.stringContaining('is not an image reference'),
    ])
    expect(await problems(emit(CATALOG, { namespace: 'ML_Team' }))).toEqual([expect.stringContaining('is not a Kubernetes namespace name')])
    expect(await problems(emit(CATALOG, { schedule: 'nightly' }))).toEqual([expect.stringContaining('is not a cron schedule')])
    expect(await problems(emit(CATALOG, { schedule: 'CRON_TZ=Europe/Paris 0 3 * * *' }))).toEqual([
      expect.stringContaining('Kubernetes does not take a time zone in the schedule'),
    ])
    for (const ok of ['@daily', '*/30 2-4 * * 1-5', '0 3 * * MON'])
      await expect(emit(CATALOG, { schedule: ok })).resolves.toContain('CronJob')
    for (const ok of ['127.0.0.1:5000/modelcar:test', 'modelcar', `quay.io/a/b@sha256:${'0'.repeat(64)}`])
      await expect(emit(CATALOG, { image: ok })).resolves.toContain(`image: ${ok}`)
  })

  it('refuses a catalogue the pod cannot run, every problem at its place: local files, layouts, variables it does not set', async () => {
    const text = `apiVersion: modelcar/v1
kind: Catalog
template:
  sinks:
    - type: oci-layout
      path: ./out/{name}
models:
  - source: { type: hf, repo: acme/a }
  - source: { type: local, path: ./m }
    base: oci-layout:./busybox
    sinks:
      - type: registry
        ref: "\${REGISTRY_HOST}/x/{name}:{revision}"
  - source: { type: hf, repo: acme/b, revision: "\${REVISION:-main}" }
`
    const file = join(dir, 'fit')
    await mkdir(join(file, 'm'), { recursive: true })
    const env = { REGISTRY_HOST: 'r.example' }
    await writeFile(join(file, 'c.yaml'), text)
    const catalog = await loadCatalog(join(file, 'c.yaml'), { registry: officialRegistry(), env })
    const run = emitKubernetes({
      file: join(file, 'c.yaml'),
      catalog,
      shards: 2,
      image: 'x',
      schedule: undefined,
      namespace: undefined,
      env,
    })
    expect(await problems(run)).toEqual([
      '5:7 model `a`: sink `oci-layout` writes the image to the pod’s disk, which is read-only but for small scratch folders',
      '9:13 model `m`: source `local` reads files on the pod’s own disk, which holds no model',
      '10:11 model `m`: base `oci-layout` reads a layout on the pod’s disk',
      '13:14 `${REGISTRY_HOST}` is not set in the pods',
    ])
  })
})
