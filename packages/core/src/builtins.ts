// The components @modelcar/core ships.
import { ociLayoutBase } from './bases/oci-layout.js'
import { scratchBaseComponent } from './bases/scratch.js'
import type { Component } from './contract/component.js'
import { ComponentRegistry } from './contract/registry.js'
import { ociLayoutSink } from './sinks/oci-layout.js'
import { localSource } from './sources/local.js'
import { annotateTransform } from './transforms/annotate.js'
import { layersTransform } from './transforms/layers.js'
import { modelcardTransform } from './transforms/modelcard.js'

export const coreComponents: Component[] = [
  localSource,
  modelcardTransform,
  annotateTransform,
  layersTransform,
  ociLayoutSink,
  scratchBaseComponent,
  ociLayoutBase,
]

export function createCoreRegistry(): ComponentRegistry {
  return new ComponentRegistry(coreComponents)
}
