// Types for s3-server.mjs, which stays plain JavaScript so the benchmark can import it.
import type { S3Client } from '@aws-sdk/client-s3'

export interface S3ServerOptions {
  /** Where s3rver keeps buckets and objects. */
  directory: string
  /** Buckets created at start. */
  buckets?: string[]
}

export interface S3Server {
  /** e.g. http://127.0.0.1:PORT: an `endpoint` with path-style addressing. */
  url: string
  port: number
  stop(): Promise<void>
}

export declare function startS3Server(opts: S3ServerOptions): Promise<S3Server>

/** A client for seeding (credentials S3RVER/S3RVER, path style, no aws-chunked uploads). */
export declare function seedClient(url: string): S3Client

export type ObjectContent = Buffer | Uint8Array | string | { file: string }

export declare function putObjects(
  client: S3Client,
  bucket: string,
  objects: Record<string, ObjectContent>,
  opts?: { concurrency?: number; metadata?: Record<string, Record<string, string>> },
): Promise<void>
