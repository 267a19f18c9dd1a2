// The same input gives the same bytes on every Node.js line in support: the quickstart, with
// uncompressed, gzip and zstd layers, run by each line's own binary, has one digest per compression.
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { nodeBinary, NODE_LINES } from '../../tools/node-lines/node-lines.mjs'
import { assertCliBuilt, CLI_BIN, cliEnv, REPO_ROOT } from '../e2e/support.js'

let work: string
beforeAll(async () => {
  await assertCliBuilt()
  work = await mkdtemp(join(tmpdir(), 'mc-lines-'))
})
afterAll(() => rm(work, { recursive: true, force: true }))

const LINES = Object.keys(NODE_LINES).map(Number)

describe('every Node.js line in support', () => {
  it.each(['none', 'gzip', 'zstd'])(
    'gives the quickstart one digest with %s layers',
    (compression) => {
      const digests = LINES.map((line) => {
        const out = join(work, `${line}-${compression}`)
        const args = [
          CLI_BIN,
          'run',
          join(REPO_ROOT, 'examples/quickstart/recipe.yaml'),
          '--set',
          `image.compression=${compression}`,
          '--set',
          `sinks.0.path=${out}`,
          '--no-cache',
        ]
        const r = spawnSync(nodeBinary(line), args, { encoding: 'utf8', env: cliEnv(), timeout: 120_000, killSignal: 'SIGKILL' })
        expect(r.status, `node ${NODE_LINES[line as keyof typeof NODE_LINES]}: ${r.stderr}`).toBe(0)
        // No warning of any kind, the AWS SDK's about old Node lines included.
        expect(r.stderr).not.toMatch(/Warning/)
        return `${r.stdout.trim()}`
      })
      expect(digests[0]).toMatch(/^sha256:[0-9a-f]{64}$/)
      expect(new Set(digests).size, digests.join(' ')).toBe(1)
    },
    120_000,
  )
})
