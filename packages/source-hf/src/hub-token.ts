// Where a Hugging Face token comes from when the recipe gives none: HF_TOKEN, then
// HUGGING_FACE_HUB_TOKEN, then the token file the `hf` CLI writes (under HF_HOME, by default
// $XDG_CACHE_HOME/huggingface or ~/.cache/huggingface).
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { ModelcarError, type ComponentContext } from '@modelcar/core'

export interface FoundToken {
  token: string
  /** For messages: `HF_TOKEN`, `the token file ~/.cache/huggingface/token`, `the recipe`. */
  from: string
}

export function tokenFilePath(env: Readonly<Record<string, string | undefined>>): string {
  if (env.HF_TOKEN_PATH) return env.HF_TOKEN_PATH
  const home = env.HF_HOME ?? path.join(env.XDG_CACHE_HOME ?? path.join(env.HOME ?? os.homedir(), '.cache'), 'huggingface')
  return path.join(home, 'token')
}

export async function findToken(
  configured: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): Promise<FoundToken | undefined> {
  if (configured) return { token: configured.trim(), from: 'the recipe' }
  for (const name of ['HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN']) {
    const v = env[name]?.trim()
    if (v) return { token: v, from: name }
  }
  const file = tokenFilePath(env)
  const text = await fs.readFile(file, 'utf8').catch(() => undefined)
  const token = text?.trim()
  return token ? { token, from: `the token file ${file}` } : undefined
}

/**
 * The token a run uses, if any: found as above, registered as a secret at once (so no message
 * can show it), and refused before any request when it is not a Hub token.
 */
export async function hubToken(
  configured: string | undefined,
  ctx: Pick<ComponentContext, 'env' | 'secret'>,
): Promise<FoundToken | undefined> {
  const found = await findToken(configured, ctx.env)
  if (!found) return undefined
  ctx.secret(found.token)
  if (!found.token.startsWith('hf_')) {
    throw new ModelcarError('COMPONENT_INVALID', `the token from ${found.from} is not a Hugging Face token (they start with \`hf_\`)`, {
      hint: 'create one at https://huggingface.co/settings/tokens',
      input: true,
    })
  }
  return found
}
