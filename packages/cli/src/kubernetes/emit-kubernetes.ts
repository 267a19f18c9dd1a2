// `modelcar mirror CATALOG --emit kubernetes`: the manifests that run a catalogue as shards on a
// cluster. (Built by the Kubernetes work; this placeholder refuses until then.)
import { errors, type Catalog } from '@modelcar/core'

export interface EmitOptions {
  file: string
  catalog: Catalog
  shards: number | undefined
  image: string | undefined
  schedule: string | undefined
  namespace: string | undefined
  env: NodeJS.ProcessEnv
}

export async function emitKubernetes(_opts: EmitOptions): Promise<string> {
  throw errors.argumentInvalid('`--emit kubernetes` is not built yet')
}
