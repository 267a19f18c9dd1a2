// docs/plugins/sdk.md names every value @modelcar/core exports: a plugin author has only the docs
// and the types, so an export the page does not name is one nobody can find.
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import * as core from '@modelcar/core'

const SDK_PAGE = fileURLToPath(new URL('../../../docs/plugins/sdk.md', import.meta.url))

/** The names a page shows as code in a table's first column: `` | `name` | … ``. */
function documentedNames(markdown: string): Set<string> {
  return new Set([...markdown.matchAll(/^\|\s*`([A-Za-z_$][\w$]*)`\s*\|/gm)].map((m) => m[1]!))
}

describe('docs/plugins/sdk.md', () => {
  it('names every value export of @modelcar/core', async () => {
    const documented = documentedNames(await readFile(SDK_PAGE, 'utf8'))
    const missing = Object.keys(core).filter((name) => !documented.has(name))
    expect(missing, `value exports of @modelcar/core not described in docs/plugins/sdk.md (one table row each)`).toEqual([])
  })

  it('names nothing @modelcar/core does not export', async () => {
    const documented = documentedNames(await readFile(SDK_PAGE, 'utf8'))
    const gone = [...documented].filter((name) => !(name in core))
    expect(gone, 'rows of docs/plugins/sdk.md for values @modelcar/core no longer exports').toEqual([])
  })

  it('finds a row only in the first column, so a name mentioned in passing does not count', () => {
    const names = documentedNames('| `runRecipe` | runs, see `planLayers` |\n| export | what |\ntext `sleep`\n')
    expect([...names]).toEqual(['runRecipe'])
  })
})
