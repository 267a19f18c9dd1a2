// The components @modelcar/core ships.
import type { Component } from './components/define.js'
import { ComponentRegistry } from './components/registry.js'
import { ociLayoutSink } from './sinks/oci-layout.js'
import { localSource } from './sources/local.js'
import { annotateTransform } from './transforms/annotate.js'
import { layersTransform } from './transforms/layers.js'
import { modelcardTransform } from './transforms/modelcard.js'

export const coreComponents: Component[] = [localSource, modelcardTransform, annotateTransform, layersTransform, ociLayoutSink]

export function createCoreRegistry(): ComponentRegistry {
  return new ComponentRegistry(coreComponents)
}
