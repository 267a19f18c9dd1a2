// What a killed writer leaves in an image layout's temporary folder, and what the next writer
// removes: a half-written blob of a process that ran here and is gone, at once; anything a live
// writer, or a writer elsewhere, may still be working on stays (until it is an hour old).
import { spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ImageLayout } from './image-layout.js'

let dir: string
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mc-layout-'))
})
afterEach(() => fs.rm(dir, { recursive: true, force: true }))

/** The pid of a process that has exited. */
function gonePid(): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
    child.on('error', reject)
    child.on('exit', () => resolve(child.pid!))
  })
}

describe('image layout: leftovers of a killed writer', () => {
  it('the next writer removes the temporary files of a writer here whose process is gone, and keeps the others', async () => {
    const layout = new ImageLayout(dir)
    await layout.prepare()
    const tmp = path.join(dir, '.modelcar-tmp')
    // A writer of this process: its temporary file says how a writer here names its files.
    const writer = await layout.createBlobWriter()
    const [own] = await fs.readdir(tmp)
    const place = /^\d+@(.+)-[0-9a-f]{12}$/.exec(own!)?.[1]
    expect(place, own).toBeDefined()

    const gone = await gonePid()
    const names = {
      goneHere: `${gone}@${place}-aaaaaaaaaaaa`,
      goneElsewhere: `${gone}@another-host_1-bbbbbbbbbbbb`,
      liveHere: `${process.ppid}@${place}-cccccccccccc`,
      olderForm: `${gone}-dddddddddddd`,
    }
    for (const name of Object.values(names)) await fs.writeFile(path.join(tmp, name), 'half a blob')

    await new ImageLayout(dir).prepare()
    expect((await fs.readdir(tmp)).sort()).toEqual([own!, names.goneElsewhere, names.liveHere, names.olderForm].sort())
    await writer.abort()
  })
})
