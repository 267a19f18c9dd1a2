// `modelcar init [FILE]`: a starter recipe, on stdout or into a new file.
import fs from 'node:fs/promises'
import { errors } from '@modelcar/core'
import { defineCommand } from '../command-line/define-command.js'

export const STARTER_RECIPE = `# modelcar recipe: \`modelcar run recipe.yaml\`. Reference: \`modelcar schema\`.
apiVersion: modelcar/v1
# The image the model goes on top of. KServe's Modelcar needs a shell: use a busybox layout,
# e.g. \`skopeo copy docker://docker.io/library/busybox:1.36 oci:./base:latest\`.
base: scratch
sources:
  - type: local
    path: ./model              # a file or a folder
    # include: ["*.safetensors", "*.json", "README.md"]
transforms:
  - type: modelcard            # README.md becomes the model card layer
    file: README.md
    required: false
  # - type: annotate
  #   annotations: { org.opencontainers.image.licenses: Apache-2.0 }
image:
  prefix: /models
  compression: none
sinks:
  - type: oci-layout
    path: ./out
    tag: latest
`

export const initCommand = defineCommand({
  name: 'init',
  usage: 'init [FILE] [--force]',
  summary: 'write a starter recipe',
  options: { force: { type: 'boolean' } },
  async run({ values, positionals }, { output, usageError }) {
    const [file] = positionals
    if (positionals.length > 1) throw usageError('give one file to write')
    if (!file) {
      output.write(STARTER_RECIPE)
      return
    }
    try {
      await fs.writeFile(file, STARTER_RECIPE, { flag: values.force ? 'w' : 'wx' })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST')
        throw errors.argumentInvalid(`\`${file}\` exists`, 'pass --force to overwrite it')
      throw err
    }
    output.note(`wrote ${file}; edit it, then \`modelcar run ${file}\``)
  },
})
