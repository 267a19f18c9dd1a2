// Where the client's region, endpoint and credentials come from when the recipe does not say:
// the run's environment (ctx.env) and the shared AWS config files it points to, in the order the
// AWS CLI and SDKs use. The SDK's credential chain reads process.env on its own; this file is the
// one place that feeds it explicit values from ctx.env instead (see credentialChain()).
import { readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { defaultProvider } from '@aws-sdk/credential-provider-node'
import { loadCredentialProvider } from './aws-sdk.js'

type Env = Readonly<Record<string, string | undefined>>

type AwsCredentialIdentityProvider = ReturnType<typeof defaultProvider>
type AwsCredentialIdentity = Awaited<ReturnType<AwsCredentialIdentityProvider>>

export const DEFAULT_REGION = 'us-east-1'

export interface ClientSettings {
  region: string
  /** For messages: `the recipe`, `AWS_REGION`, `profile \`x\` in ~/.aws/config`, `the default`. */
  regionFrom: string
  endpoint: string | undefined
  /** From the profile's `s3.addressing_style` (`path` / `virtual`), when it says. */
  pathStyle: boolean | undefined
  profile: string
  /** Where the credentials are looked up, for hints (never the credentials themselves). */
  credentialsFrom: string
}

export function awsConfigFiles(env: Env): { credentials: string; config: string } {
  const home = env.HOME ?? os.homedir()
  return {
    credentials: env.AWS_SHARED_CREDENTIALS_FILE ?? path.join(home, '.aws', 'credentials'),
    config: env.AWS_CONFIG_FILE ?? path.join(home, '.aws', 'config'),
  }
}

/**
 * The keys of one profile in an AWS config or credentials file (`[default]`, `[profile x]` in
 * config, `[x]` in credentials). Nested service sections (`s3 =` followed by indented keys) are
 * kept as `s3.key`. A missing file is an empty profile.
 */
export function readProfile(file: string, profile: string, isConfig: boolean): Record<string, string> {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return {}
  }
  const wanted = new Set(isConfig ? (profile === 'default' ? ['default', 'profile default'] : [`profile ${profile}`]) : [profile])
  const out: Record<string, string> = {}
  let inside = false
  let parent: string | undefined
  for (const raw of text.split(/\r?\n/)) {
    if (/^\s*[#;]/.test(raw) || !raw.trim()) continue
    const section = /^\s*\[([^\]]+)\]\s*$/.exec(raw)
    if (section) {
      inside = wanted.has(section[1]!.trim().replace(/\s+/g, ' '))
      parent = undefined
      continue
    }
    if (!inside) continue
    const kv = /^(\s*)([^=\s]+)\s*=\s*(.*?)\s*$/.exec(raw)
    if (!kv) continue
    if (kv[1] && parent) out[`${parent}.${kv[2]}`] = kv[3]!
    else if (!kv[3]) parent = kv[2]
    else {
      parent = undefined
      out[kv[2]!] = kv[3]!
    }
  }
  return out
}

export function clientSettings(config: { region?: string; endpoint?: string; profile?: string }, env: Env): ClientSettings {
  const profile = config.profile ?? env.AWS_PROFILE ?? env.AWS_DEFAULT_PROFILE ?? 'default'
  const files = awsConfigFiles(env)
  const shared = readProfile(files.config, profile, true)
  const home = env.HOME ?? os.homedir()
  const shown = (p: string) => (p.startsWith(home + path.sep) ? `~${p.slice(home.length)}` : p)
  const region: [string, string] = config.region
    ? [config.region, 'the recipe']
    : env.AWS_REGION
      ? [env.AWS_REGION, 'AWS_REGION']
      : env.AWS_DEFAULT_REGION
        ? [env.AWS_DEFAULT_REGION, 'AWS_DEFAULT_REGION']
        : shared.region
          ? [shared.region, `profile \`${profile}\` in ${shown(files.config)}`]
          : [DEFAULT_REGION, 'the default']
  const ignoreConfigured = env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS === 'true'
  const endpoint =
    config.endpoint ??
    (ignoreConfigured ? undefined : (env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL ?? shared['s3.endpoint_url'] ?? shared.endpoint_url))
  const staticKeys = !config.profile && !env.AWS_PROFILE && env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
  return {
    region: region[0],
    regionFrom: region[1],
    endpoint: endpoint?.replace(/\/+$/, ''),
    pathStyle: shared['s3.addressing_style'] === 'path' ? true : shared['s3.addressing_style'] === 'virtual' ? false : undefined,
    profile,
    credentialsFrom: staticKeys
      ? 'AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY'
      : `profile \`${profile}\` (${shown(files.credentials)}, ${shown(files.config)}), web identity, container or instance credentials`,
  }
}

/**
 * The AWS SDK's default credential chain, fed from ctx.env: static keys from the environment,
 * then the profile (keys, assume-role, SSO, credential_process, web identity in the profile),
 * AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN, then container and instance metadata. The static
 * keys are taken here rather than by the SDK's fromEnv, which reads process.env; passing the
 * profile explicitly makes the SDK skip that link. What the SDK still reads from process.env is
 * only the container/instance metadata settings (AWS_CONTAINER_CREDENTIALS_*,
 * AWS_EC2_METADATA_*): the CLI's ctx.env is process.env, so that differs only for embedders.
 * `onFound` is told every secret value, so the run masks it.
 */
export function credentialChain(
  settings: ClientSettings,
  env: Env,
  onFound: (c: AwsCredentialIdentity) => void,
): AwsCredentialIdentityProvider {
  if (settings.credentialsFrom.startsWith('AWS_ACCESS_KEY_ID')) {
    const c: AwsCredentialIdentity = {
      accessKeyId: env.AWS_ACCESS_KEY_ID!,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY!,
      sessionToken: env.AWS_SESSION_TOKEN || undefined,
    }
    return async () => (onFound(c), c)
  }
  const files = awsConfigFiles(env)
  const chain = async (props: Parameters<AwsCredentialIdentityProvider>[0]) =>
    (await loadCredentialProvider()).defaultProvider({
      profile: settings.profile,
      filepath: files.credentials,
      configFilepath: files.config,
      webIdentityTokenFile: env.AWS_WEB_IDENTITY_TOKEN_FILE,
      roleArn: env.AWS_ROLE_ARN,
      roleSessionName: env.AWS_ROLE_SESSION_NAME,
      // The profile's own entries must not be shadowed by a cache of another run in this process.
      ignoreCache: true,
    })(props)
  return async (props) => {
    const c = await chain(props)
    onFound(c)
    return c
  }
}
