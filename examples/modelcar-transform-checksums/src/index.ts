// modelcar-transform-checksums: a recipe names it `type: checksums` under `transforms:` (or
// `type: modelcar-transform-checksums`); modelcar finds this package in the recipe's node_modules
// and uses its default export.
import { checksumsTransform } from './checksums.js'

export { checksumsTransform, checksumsSchema, ChecksumsError, sha256sums } from './checksums.js'
export default checksumsTransform
