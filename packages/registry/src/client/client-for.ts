// A registry client for a component: the repository an image reference names, with the
// credentials the component's environment holds (every secret found masked through the context),
// plain HTTP only where the recipe says `insecure`, and retries reported as the run's events.
import type { ComponentContext } from '@modelcar/core'
import { createRegistryAuth, type RegistryAuth } from '../auth/index.js'
import { registryBaseUrl, type ImageReference } from '../distribution/image-reference.js'
import { RegistryClient } from './registry-client.js'

export interface ClientForOptions {
  /** Plain HTTP to a registry that is not loopback. */
  insecure?: boolean | undefined
  /** The client writes (push scope in its token requests). */
  push?: boolean
  /** What retry events name; without it retries are not reported. */
  name?: string
  /** Credentials from another environment (a sink's own auth file); default the context's. */
  env?: ComponentContext['env']
  /** Shared with another reader of the same repository; default a new one. */
  auth?: RegistryAuth
}

type ClientContext = Pick<ComponentContext, 'env' | 'fetch' | 'secret' | 'signal' | 'emit'>

export function registryAuthFor(r: ImageReference, ctx: ClientContext, o: ClientForOptions = {}): RegistryAuth {
  return createRegistryAuth({ env: o.env ?? ctx.env, fetch: ctx.fetch, secret: ctx.secret, insecureHosts: o.insecure ? [r.apiHost] : [] })
}

export function registryClientFor(r: ImageReference, ctx: ClientContext, o: ClientForOptions = {}): RegistryClient {
  const name = o.name
  return new RegistryClient({
    baseUrl: registryBaseUrl(r.apiHost, !!o.insecure),
    registry: r.registry,
    repository: r.repository,
    auth: o.auth ?? registryAuthFor(r, ctx, o),
    fetch: ctx.fetch,
    signal: ctx.signal,
    ...(o.push && { push: true }),
    ...(name !== undefined && {
      onRetry: (what: string, attempt: number, reason: string) => ctx.emit({ type: 'retry', what: `${name}: ${what}`, attempt, reason }),
    }),
  })
}
