// The objects that run a catalogue on a cluster, as typed Kubernetes models: a ConfigMap holding the
// catalogue file, and an Indexed Job whose pod I mirrors shard I — or, with a schedule, a CronJob
// that starts that same Job every time (a re-sync redoes only what is missing).
import { CronJob } from 'kubernetes-models/batch/v1/CronJob'
import { Job } from 'kubernetes-models/batch/v1/Job'
import type { IJobSpec } from 'kubernetes-models/batch/v1/JobSpec'
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap'
import { EXIT_BAD_INPUT } from '../command-line/exit-codes.js'
import { CONTAINER_NAME, mirrorPodSpec } from './mirror-pod.js'

export interface MirrorDeployment {
  /** Every object's name: `modelcar-<catalogue file's stem>`. */
  name: string
  namespace: string | undefined
  /** The catalogue file's name in the ConfigMap, and so under /etc/modelcar. */
  catalogFile: string
  catalogText: string
  shards: number
  image: string
  schedule: string | undefined
}

/**
 * Tries of one shard before it counts as failed. A shard whose models all made it is done; a retry
 * reads only what is missing (the registry holds the rest), so tries are cheap.
 */
export const BACKOFF_LIMIT_PER_INDEX = 3

export type MirrorObject = ConfigMap | Job | CronJob

export function mirrorObjects(d: MirrorDeployment): MirrorObject[] {
  const metadata = { name: d.name, ...(d.namespace ? { namespace: d.namespace } : {}), labels: labels(d.name) }
  const configMap = new ConfigMap({ metadata, data: { [d.catalogFile]: d.catalogText } })
  const spec = jobSpec(d)
  if (d.schedule === undefined) return [configMap, new Job({ metadata, spec })]
  return [
    configMap,
    new CronJob({
      metadata,
      spec: {
        schedule: d.schedule,
        // A re-sync still running when the next one is due: the next one is skipped, not run beside it.
        concurrencyPolicy: 'Forbid',
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 3,
        jobTemplate: { metadata: { labels: labels(d.name) }, spec },
      },
    }),
  ]
}

function labels(name: string): Record<string, string> {
  return { 'app.kubernetes.io/name': 'modelcar', 'app.kubernetes.io/instance': name, 'app.kubernetes.io/component': 'mirror' }
}

function jobSpec(d: MirrorDeployment): IJobSpec {
  return {
    // Pod I gets JOB_COMPLETION_INDEX=I, and `--shards N` makes it mirror shard I/N.
    completionMode: 'Indexed',
    completions: d.shards,
    parallelism: d.shards,
    backoffLimitPerIndex: BACKOFF_LIMIT_PER_INDEX,
    podFailurePolicy: {
      rules: [
        // Exit 2: the catalogue or the arguments are wrong; another try would fail the same way.
        { action: 'FailIndex', onExitCodes: { containerName: CONTAINER_NAME, operator: 'In', values: [EXIT_BAD_INPUT] } },
        // A node drained or a pod preempted is not the shard's failure: it does not use up a try.
        { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
      ],
    },
    template: {
      metadata: { labels: labels(d.name) },
      spec: mirrorPodSpec({ image: d.image, catalogFile: d.catalogFile, configMap: d.name, shards: d.shards }),
    },
  }
}
