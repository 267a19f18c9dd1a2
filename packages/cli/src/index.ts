// @modelcar/cli as a library, for a program that embeds modelcar: the command line in-process
// (`main`), the components every `modelcar` knows (`officialRegistry`) and how it finds plugins
// (`pluginResolver`), for core's `parseRecipe`/`runRecipe`; and the exit codes the CLI gives.
export { main, usage } from './main.js'
export { officialRegistry, pluginPackageName } from './components/official-components.js'
export { pluginResolver, installedPlugins, loadPluginPackage, type PluginPackage } from './components/resolve-plugin.js'
export { exitCodeOf, EXIT_DONE, EXIT_RUN_FAILED, EXIT_BAD_INPUT } from './command-line/exit-codes.js'
export { setOverrides } from './command-line/args.js'
