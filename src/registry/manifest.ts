/**
 * Manifests as the distribution protocol serves them and the action reads
 * them: the media types asked for, their shapes, platforms, and what the
 * headers of an answer tell (trusted only when they look right).
 */
import type * as http from 'node:http'

/**
 * Every manifest and index type: a registry asked for fewer may convert what it
 * answers (an index to one image, OCI to Docker), and the digest would change.
 */
export const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json'
] as const
const INDEX_TYPES = new Set<string>(MANIFEST_TYPES.slice(0, 2))
export const ACCEPT = MANIFEST_TYPES.join(', ')

export interface ManifestHead {
  digest: string
  mediaType: string
  size: number
}

export interface Manifest extends ManifestHead {
  body: ManifestBody
  /** The bytes as served: what its digest is over, and what a copy puts as it is. */
  raw?: Buffer
}

export interface ManifestBody {
  mediaType?: string
  manifests?: { digest: string; mediaType?: string; size?: number; platform?: Platform }[]
  config?: { digest: string; size: number; mediaType?: string }
  layers?: { digest: string; size: number; mediaType?: string }[]
  /** As the registry sent it: check each value before use. */
  annotations?: Record<string, unknown>
}

export interface Platform {
  os: string
  architecture: string
  variant?: string
}

export function isIndex(mediaType: string): boolean {
  return INDEX_TYPES.has(mediaType)
}

/** `linux/arm64` matches `linux/arm64/v8`; a variant, when asked for, must match. */
export function platformMatches(p: Platform, wanted: string): boolean {
  const [os, arch, variant] = wanted.split('/')
  return p.os === os && p.architecture === arch && (!variant || p.variant === variant)
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/')
}

/** What the headers of a manifest answer tell: digest, type and size. */
export function manifestHead(headers: http.IncomingHttpHeaders): ManifestHead {
  return {
    // A registry's answer is not trusted to be a digest: anything else reads as none.
    digest: /^sha256:[0-9a-f]{64}$|^sha512:[0-9a-f]{128}$/.test(
      String(headers['docker-content-digest'] ?? '')
    )
      ? String(headers['docker-content-digest'])
      : '',
    mediaType: String(headers['content-type'] ?? '')
      .split(';')[0]!
      .trim(),
    size: Number(headers['content-length'] ?? 0)
  }
}
