// @modelcar/sink-registry: sink `registry`, registry bases, sinks `skopeo` and `oras`.
export * from './shell/index.js'
