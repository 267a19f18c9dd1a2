// modelcar-source-http: a recipe names it `type: http` (or `type: modelcar-source-http`); modelcar
// finds this package in the recipe's node_modules and uses its default export.
import { httpSource } from './http-source.js'

export { httpSource, httpSourceSchema } from './http-source.js'
export default httpSource
