// Image references as users write them (`quay.io/org/model:v1`, `busybox`, `host:5000/a/b@sha256:…`),
// normalised the way Docker does, and the base URL their registry is reached at.

export interface ImageReference {
  /** The registry as written (`docker.io` for Docker Hub): the key credentials are looked up by. */
  registry: string
  /** Host[:port] the HTTP API lives at (`registry-1.docker.io` for Docker Hub). */
  apiHost: string
  /** `org/model` (`library/busybox` for a Docker Hub official image). */
  repository: string
  tag: string | undefined
  digest: string | undefined
}

const DOCKER_HUB = 'docker.io'
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*'
const HOST = '(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?'
const TAG = '[A-Za-z0-9_][A-Za-z0-9._-]{0,127}'
const DIGEST = 'sha256:[a-f0-9]{64}'

/** The whole reference, for a JSON Schema `pattern`: [host/]repo[:tag][@digest]. */
export const IMAGE_REFERENCE_PATTERN = `^(?:${HOST}/)?${COMPONENT}(?:/${COMPONENT})*(?::${TAG})?(?:@${DIGEST})?$`
const REFERENCE_RE = new RegExp(`^(?:(${HOST})/)?(${COMPONENT}(?:/${COMPONENT})*)(?::(${TAG}))?(?:@(${DIGEST}))?$`)

/** Parses `ref`; undefined when it is not a reference (the caller words the error). */
export function parseImageReference(ref: string): ImageReference | undefined {
  const m = REFERENCE_RE.exec(ref.trim())
  if (!m) return undefined
  const [, first, named, givenTag, digest] = m as unknown as [string, string | undefined, string, string | undefined, string | undefined]
  let host = first
  let repository = named
  let tag = givenTag
  // The first part is a host only if it looks like one (Docker's rule): `org/model` is on Docker Hub.
  if (host !== undefined && !/[.:]/.test(host) && host !== 'localhost' && !host.startsWith('[')) {
    repository = `${host.toLowerCase()}/${repository}`
    host = undefined
  }
  if (host !== undefined) host = host.toLowerCase()
  let registry = host ?? DOCKER_HUB
  if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = DOCKER_HUB
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`
  if (tag === undefined && digest === undefined) tag = 'latest'
  return { registry, apiHost: registry === DOCKER_HUB ? 'registry-1.docker.io' : registry, repository, tag, digest }
}

/** `host/repo:tag@digest` as a person reads it. */
export function formatImageReference(r: ImageReference): string {
  return `${r.registry}/${r.repository}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`
}

/** Hosts reached over plain HTTP without being told: loopback only, as Docker does. */
export function isLoopbackHost(host: string): boolean {
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '')
  return name === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(name) || name === '[::1]'
}

/** `https://host`, or `http://host` for loopback and hosts the recipe marks `insecure`. */
export function registryBaseUrl(apiHost: string, insecure: boolean): string {
  return `${insecure || isLoopbackHost(apiHost) ? 'http' : 'https'}://${apiHost}`
}
