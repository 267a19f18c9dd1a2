// The OCI documents modelcar reads and writes. Fields it does not own stay in `[key: string]: unknown`
// and are written back verbatim.

export interface Platform {
  architecture: string
  os: string
  variant?: string
  'os.version'?: string
  'os.features'?: string[]
  [key: string]: unknown
}

export interface Descriptor {
  mediaType: string
  digest: string
  size: number
  annotations?: Record<string, string>
  platform?: Platform
  artifactType?: string
  urls?: string[]
  data?: string
  [key: string]: unknown
}

export interface ImageIndex {
  schemaVersion: 2
  mediaType?: string
  manifests: Descriptor[]
  annotations?: Record<string, string>
  [key: string]: unknown
}

export interface ImageManifest {
  schemaVersion: 2
  mediaType?: string
  config: Descriptor
  layers: Descriptor[]
  annotations?: Record<string, string>
  subject?: Descriptor
  artifactType?: string
  [key: string]: unknown
}

export interface HistoryEntry {
  created?: string
  created_by?: string
  comment?: string
  author?: string
  empty_layer?: boolean
  [key: string]: unknown
}

export interface ImageConfig {
  architecture?: string
  os?: string
  variant?: string
  created?: string
  config?: { Labels?: Record<string, string> | null; [key: string]: unknown } | null
  rootfs?: { type: string; diff_ids: string[] }
  history?: HistoryEntry[]
  [key: string]: unknown
}
