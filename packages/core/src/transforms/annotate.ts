// Transform `annotate`: manifest annotations and config labels.
import { Type } from '@sinclair/typebox'
import { defineTransform } from '../contract/component.js'
import { withDefault } from '../contract/config.js'

export const annotateSchema = Type.Object(
  {
    annotations: withDefault(
      Type.Record(Type.String(), Type.String(), {
        description: 'Added to every image manifest (`modelcar inspect` and registries show them).',
        examples: [{ 'org.opencontainers.image.licenses': 'Apache-2.0' }],
      }),
      {},
    ),
    labels: withDefault(
      Type.Record(Type.String(), Type.String(), {
        description: 'Added to every image config `config.Labels` (what `podman inspect` shows).',
        examples: [{ team: 'ml' }],
      }),
      {},
    ),
  },
  { additionalProperties: false },
)

export const annotateTransform = defineTransform({
  type: 'annotate',
  description: 'Adds annotations to the image manifests and labels to the image configs.',
  schema: annotateSchema,
  create(config) {
    return {
      apply: (plan) => ({
        ...plan,
        annotations: { ...plan.annotations, ...config.annotations },
        labels: { ...plan.labels, ...config.labels },
      }),
    }
  },
})
