import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { findToken, tokenFilePath } from './hub-token.js'

describe('findToken', () => {
  it('prefers the recipe, then HF_TOKEN, then HUGGING_FACE_HUB_TOKEN, then the token file', async () => {
    const home = await fs.mkdtemp(path.join(os.tmpdir(), 'mc-hf-'))
    try {
      await fs.mkdir(path.join(home, 'hfhome'))
      await fs.writeFile(path.join(home, 'hfhome', 'token'), 'hf_fromfile\n')
      const env = { HF_HOME: path.join(home, 'hfhome') }
      expect(await findToken('hf_recipe', { ...env, HF_TOKEN: 'hf_env' })).toEqual({ token: 'hf_recipe', from: 'the recipe' })
      expect(await findToken(undefined, { ...env, HF_TOKEN: 'hf_env', HUGGING_FACE_HUB_TOKEN: 'hf_old' })).toEqual({
        token: 'hf_env',
        from: 'HF_TOKEN',
      })
      expect(await findToken(undefined, { ...env, HUGGING_FACE_HUB_TOKEN: 'hf_old' })).toEqual({
        token: 'hf_old',
        from: 'HUGGING_FACE_HUB_TOKEN',
      })
      expect((await findToken(undefined, env))?.token).toBe('hf_fromfile')
      expect(await findToken(undefined, { HOME: home })).toBeUndefined()
    } finally {
      await fs.rm(home, { recursive: true, force: true })
    }
  })

  it('finds the token file where the hf CLI writes it', () => {
    expect(tokenFilePath({ HOME: '/home/u' })).toBe('/home/u/.cache/huggingface/token')
    expect(tokenFilePath({ HOME: '/home/u', XDG_CACHE_HOME: '/c' })).toBe('/c/huggingface/token')
    expect(tokenFilePath({ HF_HOME: '/h' })).toBe('/h/token')
    expect(tokenFilePath({ HF_TOKEN_PATH: '/t' })).toBe('/t')
  })
})
