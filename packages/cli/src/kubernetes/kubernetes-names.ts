// What Kubernetes accepts as names, keys and schedules, which its schemas do not say (they type a
// name as any string; the API server refuses it later): the objects' name from the catalogue
// file's, the ConfigMap key the file is kept under, and the checks of --namespace and --schedule.
import path from 'node:path'
import { errors } from '@modelcar/core'

/**
 * At most this long: a CronJob's Jobs are named `<name>-<minutes since 1970>` (9 more characters)
 * and an Indexed Job's pods get the hostname `<job>-<index>`, which must stay within 63.
 */
export const MAX_NAME_LENGTH = 40

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const CRON_MACRO = /^@(yearly|annually|monthly|weekly|daily|midnight|hourly)$/
const CRON_FIELD = /^[0-9A-Za-z*?/,\-LW#]+$/

/** `modelcar-<stem>` for `path/to/<Stem>.yaml`: lower case, `-` for anything a DNS label cannot hold. */
export function objectName(file: string): string {
  const stem = path
    .basename(file)
    .replace(/\.(ya?ml|json)$/i, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
  const name = `modelcar-${stem}`.slice(0, MAX_NAME_LENGTH).replace(/-+$/, '')
  return name === 'modelcar' || name === 'modelcar-' ? 'modelcar-catalog' : name
}

/**
 * The ConfigMap key (and so the file name under the mount) the catalogue is kept under: its own
 * name, `-` for what a key cannot hold; `catalog.yaml` when nothing of the name is left.
 */
export function catalogKey(file: string): string {
  const key = path.basename(file).replace(/[^-._a-zA-Z0-9]+/g, '-')
  return /[a-zA-Z0-9]/.test(key.replace(/\.(ya?ml|json)$/i, '')) && key.length <= 253 ? key : 'catalog.yaml'
}

export function isDnsLabel(text: string): boolean {
  return text.length <= 63 && DNS_LABEL.test(text)
}

export function checkNamespace(namespace: string | undefined): void {
  if (namespace !== undefined && !isDnsLabel(namespace))
    throw errors.argumentInvalid(
      `--namespace \`${namespace}\` is not a Kubernetes namespace name`,
      'lower-case letters, digits and `-`, starting and ending with a letter or digit, at most 63 characters',
    )
}

/**
 * Five fields (minute hour day-of-month month day-of-week), or a macro such as `@daily`; the CronJob
 * controller parses the rest. A `TZ=`/`CRON_TZ=` prefix is refused: the API server does not take
 * it (a CronJob's `spec.timeZone` says the zone).
 */
export function checkSchedule(schedule: string | undefined): void {
  if (schedule === undefined) return
  const text = schedule.trim()
  if (/^(CRON_)?TZ=/.test(text))
    throw errors.argumentInvalid(
      `--schedule \`${schedule}\`: Kubernetes does not take a time zone in the schedule`,
      'give the five fields alone (the controller’s time zone, UTC on most clusters), and set `timeZone:` in the printed CronJob’s spec for another',
    )
  const fields = text.split(/\s+/)
  if (CRON_MACRO.test(text) || (fields.length === 5 && fields.every((f) => CRON_FIELD.test(f)))) return
  throw errors.argumentInvalid(
    `--schedule \`${schedule}\` is not a cron schedule`,
    'five fields, minute hour day-of-month month day-of-week: `--schedule "0 3 * * *"` is every night at 03:00; or `@daily`',
  )
}

/** An image reference as the kubelet pulls it: `[HOST[:PORT]/]REPO[:TAG][@sha256:…]`, no spaces. */
export function checkImage(image: string): void {
  const m =
    /^((?:[a-zA-Z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$/.exec(
      image,
    )
  if (!m)
    throw errors.argumentInvalid(
      `--image \`${image}\` is not an image reference`,
      'e.g. `--image quay.io/acme/modelcar:0.1.0`: the modelcar image the pods run (docs/kubernetes.md builds one)',
    )
}
