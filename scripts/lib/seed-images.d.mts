export interface Credentials {
  username: string
  password: string
}

export interface PushedImage {
  /** Digest the tag points to (an index for several platforms). */
  digest: string
  mediaType: string
  size: number
  /** Per-platform image digests of an index; empty for a single image. */
  children: { platform: string; digest: string }[]
}

export const ACCEPT: string

/** The parts of an image manifest or index the tests look at. */
export interface ManifestJson {
  schemaVersion: number
  mediaType?: string
  manifests?: {
    digest: string
    platform?: { os: string; architecture: string; variant?: string }
  }[]
  config?: { digest: string; size: number }
  layers?: { digest: string; size: number }[]
}

export function pushImage(
  host: string,
  repository: string,
  tag: string,
  options?: {
    platforms?: string[]
    seed?: string
    auth?: Credentials
    format?: 'oci' | 'docker'
  }
): Promise<PushedImage>

export function headDigest(
  host: string,
  repository: string,
  reference: string,
  auth?: Credentials
): Promise<string | undefined>

export function getManifest(
  host: string,
  repository: string,
  reference: string,
  auth?: Credentials
): Promise<{ digest: string; mediaType: string; manifest: ManifestJson }>

/** Put the manifest `from` points to under more tags of the same repository (one PUT each). */
export function tagImage(
  host: string,
  repository: string,
  from: string,
  tags: string[],
  auth?: Credentials
): Promise<string>

/** A one-entry ustar header for a file of `size` bytes. */
export function tarHeader(name: string, size: number): Buffer

/**
 * Push an artifact about `subject` (an OCI manifest with `subject`, one layer); `fallback`
 * also writes the `sha256-<hex>` index listing it (for a registry without the referrers API).
 */
export function pushReferrer(
  host: string,
  repository: string,
  subject: { digest: string; mediaType: string; size: number },
  artifact: {
    artifactType: string
    mediaType: string
    bytes: Buffer | string
    annotations?: Record<string, string>
  },
  options?: { fallback?: boolean; auth?: Credentials }
): Promise<string>
