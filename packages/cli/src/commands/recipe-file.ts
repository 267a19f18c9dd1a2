// A recipe file as `run`, `validate` and `schema` read it: a file that cannot be read says how to
// get a first one; the text is checked by core with the official components and the plugins
// installed beside the recipe.
import { readFile } from 'node:fs/promises'
import { errors, parseRecipe, type Override, type Recipe } from '@modelcar/core'
import { officialRegistry } from '../components/official-components.js'
import { pluginResolver } from '../components/resolve-plugin.js'

/** The text of recipe `file`; ARGUMENT_INVALID (exit 2) when it cannot be read. */
export async function readRecipeText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8')
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message
    throw errors.argumentInvalid(
      `recipe \`${file}\` cannot be read (${why})`,
      'give the path of a recipe file; `modelcar init recipe.yaml` writes a starter one',
    )
  }
}

/** Recipe `file`, read and checked; every problem in it is one RECIPE_INVALID error. */
export async function loadRecipeFile(file: string, env: NodeJS.ProcessEnv, overrides: Override[] = []): Promise<Recipe> {
  return parseRecipe(await readRecipeText(file), file, { registry: officialRegistry(), env, overrides, resolver: pluginResolver })
}
