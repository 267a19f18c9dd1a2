// @modelcar/source-hf: source `hf`, a Hugging Face Hub repository streamed into layers.
import { hfSource } from './hf-source.js'

export { hfSource, hfSourceSchema, parseRepo, HUB_URL } from './hf-source.js'
export { findToken, tokenFilePath } from './hub-token.js'
export default hfSource
