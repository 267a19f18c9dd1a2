// What a run reports as it goes: rendered as progress bars on a terminal, one JSON line each with --json.

export type RunEvent =
  | { type: 'plan'; files: number; layers: number; bytes: number; baseLayers: number }
  | { type: 'layer-start'; layer: number; title: string; bytes: number }
  | { type: 'layer-progress'; layer: number; bytes: number }
  /** `skipped`: the layer was not read at all: every sink had it (found in its image or the local record). */
  | { type: 'layer-done'; layer: number; digest: string; size: number; skipped?: boolean }
  | { type: 'blob-copy'; digest: string; size: number; sink: string }
  | { type: 'retry'; what: string; attempt: number; reason: string }
  | { type: 'commit'; sink: string; ref: string; digest: string }
  | { type: 'warning'; message: string; component?: string }
  | { type: 'log'; level: 'debug' | 'info'; message: string; component?: string }
  | { type: 'done'; digest: string; seconds: number; bytes: number; reused?: number }
