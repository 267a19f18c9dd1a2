import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { floorBreaches, folderCycles, importsOf } from './folder-graph.mjs'

let src: string
beforeAll(async () => {
  src = await mkdtemp(path.join(os.tmpdir(), 'folder-graph-'))
  const files: Record<string, string> = {
    'contract/component.ts': "import type { Descriptor } from '../oci/types.js'\nimport { run } from '../pipeline/run.js'\n",
    'oci/types.ts': 'export interface Descriptor { digest: string }\n',
    'pipeline/run.ts': "import { plan } from '../plan/plan.js'\nexport const run = plan\n",
    'plan/plan.ts': "export { run as plan } from '../pipeline/run.js'\n",
    'plan/plan.test.ts': "import '../contract/component.js'\n",
  }
  for (const [name, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(src, name)), { recursive: true })
    await writeFile(path.join(src, name), text)
  }
})
afterAll(() => rm(src, { recursive: true, force: true }))

describe('folder graph', () => {
  it('finds a cycle between folders, with the imports that make it, and ignores tests', () => {
    const edges = importsOf(src)
    expect(edges).not.toContainEqual(['plan/plan.test.ts', 'contract/component.ts'])
    expect(folderCycles(edges)).toEqual([
      { folders: ['pipeline', 'plan'], edges: ['pipeline/run.ts -> plan/plan.ts', 'plan/plan.ts -> pipeline/run.ts'] },
    ])
  })

  it('finds the contract floor reaching up, and lets it import the OCI types', () => {
    expect(floorBreaches(importsOf(src))).toEqual([
      'contract/component.ts -> pipeline/run.ts (`contract/` may import only errors, oci/types.ts, oci/media-types.ts)',
    ])
  })
})
