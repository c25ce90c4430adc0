/**
 * The referrers of a manifest (OCI distribution spec 1.1): what names it as its
 * `subject` (signatures, attestations, SBOMs, our mirror records). A registry
 * with the referrers API lists them at `referrers/<digest>`; without it,
 * clients keep the same list as an index under the tag `sha256-<hex>` (the
 * "referrers tag schema") and update it as they push. This reads either, and
 * adds to the fallback index without dropping what other tools put there.
 * Every list is bounded: registries and upstream owners choose its length.
 */
import { isPermanent } from '../common/errors.js'
import { debug } from '../action/log.js'
import { putManifest } from './blobs.js'
import { RegistryError, type RegistryClient } from './client.js'

export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
/** Referrers kept from one list (after filtering), pages of the API read, the longest page. */
export const MAX_REFERRERS = 256
const MAX_REFERRER_PAGES = 4
const MAX_REFERRERS_BYTES = 1024 * 1024

export interface Where {
  registry: string
  repository: string
}

/** A descriptor in a referrers list, as a registry sent it: every field to be checked. */
export interface Descriptor {
  mediaType?: string
  digest?: string
  size?: number
  artifactType?: string
  annotations?: Record<string, unknown>
}

/** A subject's referrers and where they were found. */
export interface ReferrersList {
  descriptors: Descriptor[]
  /** `api`: the referrers API answered; `tag`: the fallback index (or its absence) did. */
  via: 'api' | 'tag'
  /** The fallback index's digest, when it was read from the tag. */
  indexDigest?: string
  /** The fallback index's own annotations (where a mirror notes what it copied from). */
  annotations?: Record<string, unknown>
}

/** The fallback tag of a subject's referrers: `sha256-<hex>`. */
export function fallbackTag(digest: string): string {
  return digest.replace(':', '-')
}

/** The descriptors of an index (a referrers list); anything else is none. */
export function descriptorsOf(body: unknown): Descriptor[] {
  const manifests = (body as { manifests?: unknown } | undefined)?.manifests
  if (!Array.isArray(manifests)) return []
  return manifests.filter((d): d is Descriptor => typeof d === 'object' && d !== null)
}

export interface ListOptions {
  /** Asked of the API (`?artifactType=`); a registry may ignore it, so `keep` filters again. */
  artifactType?: string
  /** Which descriptors to keep, before the MAX_REFERRERS bound (others may be many). */
  keep?: (d: Descriptor) => boolean
}

/** Lists and writes referrers; remembers which registries have the referrers API. */
export class Referrers {
  private readonly api = new Map<string, boolean>()

  constructor(private readonly client: RegistryClient) {}

  /** The subject's referrers: from the API, or from the fallback tag's index. */
  async list(where: Where, subject: string, options: ListOptions = {}): Promise<ReferrersList> {
    const keep = options.keep ?? (() => true)
    const fromApi = await this.fromApi(where, subject, options)
    if (fromApi) return { descriptors: fromApi, via: 'api' }
    const index = await this.client.getManifest(
      where.registry,
      where.repository,
      fallbackTag(subject)
    )
    const annotations = (index?.body as { annotations?: unknown } | undefined)?.annotations
    return {
      descriptors: descriptorsOf(index?.body).filter(keep).slice(0, MAX_REFERRERS),
      via: 'tag',
      ...(index?.digest ? { indexDigest: index.digest } : {}),
      ...(annotations && typeof annotations === 'object'
        ? { annotations: annotations as Record<string, unknown> }
        : {})
    }
  }

  /** Whether the registry has the referrers API (asked once per registry, of this subject). */
  async hasApi(where: Where, subject: string): Promise<boolean> {
    const known = this.api.get(where.registry)
    if (known !== undefined) return known
    await this.fromApi(where, subject, { keep: () => false })
    return this.api.get(where.registry) === true
  }

  /**
   * Add `add` to the subject's fallback index, keeping the other referrers there whole
   * (`drop` may name some of them to go: the oldest of our own records). An index past
   * MAX_REFERRERS is left alone rather than cut. Returns whether it was written.
   */
  async addToFallback(
    where: Where,
    subject: string,
    add: readonly Descriptor[],
    options: {
      drop?: (others: Descriptor[]) => Set<Descriptor>
      annotations?: Record<string, string>
    } = {}
  ): Promise<boolean> {
    const tag = fallbackTag(subject)
    const index = await this.client.getManifest(where.registry, where.repository, tag)
    const all = descriptorsOf(index?.body)
    if (all.length > MAX_REFERRERS) {
      debug(
        () => `${where.registry}/${where.repository}:${tag}: ${all.length} referrers; nothing added`
      )
      return false
    }
    const adding = new Set(add.map(d => d.digest))
    const others = all.filter(d => !adding.has(d.digest))
    const drop = options.drop?.(others) ?? new Set()
    const manifests = [...others.filter(d => !drop.has(d)), ...add]
    const kept = (index?.body as { annotations?: unknown } | undefined)?.annotations
    const annotations = {
      ...(kept && typeof kept === 'object' ? (kept as Record<string, string>) : {}),
      ...options.annotations
    }
    const body = {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests,
      ...(Object.keys(annotations).length ? { annotations } : {})
    }
    const bytes = Buffer.from(JSON.stringify(body))
    await putManifest(this.client, where.registry, where.repository, tag, OCI_INDEX, bytes)
    return true
  }

  /**
   * The API's answer (the kept descriptors of its pages, a bounded number of them), or
   * undefined when the registry has no referrers API.
   */
  async fromApi(
    where: Where,
    subject: string,
    options: ListOptions = {}
  ): Promise<Descriptor[] | undefined> {
    const { artifactType } = options
    const keep = options.keep ?? (() => true)
    if (this.api.get(where.registry) === false) return undefined
    const { registry, repository } = where
    const found: Descriptor[] = []
    let next: string | undefined =
      `referrers/${subject}${artifactType ? `?artifactType=${encodeURIComponent(artifactType)}` : ''}`
    for (let page = 0; next; page++) {
      if (page === MAX_REFERRER_PAGES || found.length >= MAX_REFERRERS) {
        debug(() => `${registry}/${repository}@${subject}: referrers past page ${page} not read`)
        break
      }
      let res
      try {
        res = await this.client.send('GET', registry, repository, next, {
          maxBytes: MAX_REFERRERS_BYTES
        })
      } catch (error) {
        if (error instanceof RegistryError && error.status === 0) {
          // An answer over the bound: the API is there, the rest of its list is not read.
          this.api.set(registry, true)
          debug(() => `${registry}/${repository}@${subject}: referrers list too long, not read`)
          return found
        }
        // A registry without the API may answer 400, 405 or the like; anything temporary is
        // not an answer about the API.
        if (page === 0 && error instanceof RegistryError && isPermanent(error)) {
          this.api.set(registry, false)
          return undefined
        }
        throw error
      }
      // The spec's registries answer an empty index rather than 404 for a subject without any.
      if (res.status === 404) {
        if (page > 0) break
        this.api.set(registry, false)
        return undefined
      }
      this.api.set(registry, true)
      try {
        found.push(...descriptorsOf(JSON.parse(res.body) as unknown).filter(keep))
      } catch {
        break
      }
      next = this.client.nextPage(res, registry, repository)
    }
    return found.slice(0, MAX_REFERRERS)
  }
}
