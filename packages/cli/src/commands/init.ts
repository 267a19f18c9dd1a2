// `modelcar init [FILE]`: a starter recipe, on stdout or into a new file.
import fs from 'node:fs/promises'
import { errors } from '@modelcar/core'
import { opt, parse } from '../args.js'
import type { Command } from '../main.js'
import { Output } from '../output.js'

const USAGE = 'init [FILE] [--force]'

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

export const initCommand: Command = {
  name: 'init',
  usage: USAGE,
  summary: 'write a starter recipe',
  async run(argv, env) {
    const output = new Output(false, env)
    try {
      const args = parse(argv, { force: { type: 'boolean' } }, USAGE)
      if (opt.flag(args, 'help')) return (output.print(`usage: modelcar ${USAGE}`), 0)
      const [file] = args.positionals
      if (!file) {
        output.write(STARTER_RECIPE)
        return 0
      }
      try {
        await fs.writeFile(file, STARTER_RECIPE, { flag: opt.flag(args, 'force') ? 'w' : 'wx' })
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST')
          throw errors.argumentInvalid(`\`${file}\` exists`, 'pass --force to overwrite it')
        throw err
      }
      output.note(`wrote ${file}; edit it, then \`modelcar run ${file}\``)
      return 0
    } catch (err) {
      return output.error(err)
    }
  },
}
