/**
 * Results: one per requested image, the shape of the `results` output and of
 * every report built from it.
 */
import { parseReference, repositoryName } from './references.js'

export const STATUSES = [
  'copied',
  'unchanged',
  'planned',
  'deferred',
  'rejected',
  'failed'
] as const
export type Status = (typeof STATUSES)[number]

/** What a referrer is, as the summary counts them and `referrer-types` names them. */
export const REFERRER_KINDS = ['signature', 'attestation', 'sbom', 'other'] as const
export type ReferrerKind = (typeof REFERRER_KINDS)[number]

/** What came with an image: counted in the target after the copy, by kind. */
export interface Attached {
  signatures: number
  attestations: number
  sboms: number
  other: number
  /** Artifacts this run wrote to the target (the rest it held already). */
  copied: number
  /** Referrers left out for good (gone upstream, refused by the target), and why (a few). */
  leftOut?: number
  notCopied?: string[]
  /** A platform subset: the source index whose own signatures do not hold for the new index. */
  indexLeftOut?: string
}

export interface MirrorResult {
  /** The entry as the user wrote it. */
  request: string
  /** Where the entry was written: `images line 3`, `images.txt line 12`. */
  origin: string
  /** Normalised source reference; empty when the entry could not be read. */
  source: string
  /** Mirrored reference; empty when there is none. */
  target: string
  status: Status
  digest?: string
  /** Why, for anything not copied, unchanged or planned (`deferred`: when pulls come back). */
  reason?: string
  /** A remark that does not change the outcome (a correction, a merged duplicate). */
  note?: string
  /**
   * For tag policies (`repo:/regex/`, `repo:semver(>=1.26) newest(3)`): the policy, expanded
   * against the registry's tags when copying.
   */
  tagFilter?: string
  /**
   * What a tag policy chose from the registry's tags, on the first image it selected (or on
   * its rejection when it selected none): for the summary's "Tag policies" lines.
   */
  selection?: {
    policy: string
    /** Tags the registry listed. */
    seen: number
    /** How many it selected, and the first few. */
    selected: number
    first: string[]
    /** Per reason, how many were left out and the first few. */
    leftOut: { reason: string; count: number; first: string[] }[]
  }
  /** The source's digest when it differs from the target's (a platform subset). */
  sourceDigest?: string
  /** Platforms the target holds, when read after a copy. */
  platforms?: string[]
  /** Bytes of config and layers the target references, when read after a copy. */
  size?: number
  /** Who signed it, when a signature policy named it and the check passed before the copy. */
  verified?: {
    /** The digest whose signature verified (the index, or the one platform image copied). */
    digest: string
    /** `key cosign.pub (SHA256:...)`, or `identity … (issuer …)` */
    by: string
    /** The key's path as the policy names it, for the `cosign verify --key` line. */
    key?: string
    /** A keyless signer, for the `cosign verify --certificate-identity` line. */
    identity?: string
    issuer?: string
    /** The trusted root file it verified against, when not Sigstore's (verify-trusted-root). */
    trustedRoot?: string
    /** `bundle` (cosign 3) or `simple signing` (cosign's `.sig` tag). */
    format: string
  }
  /** Signatures, attestations and SBOMs the target holds for it, copied with it (issue 19). */
  attached?: Attached
  /** Wall time spent on this image, retries included. */
  seconds?: number
  /**
   * Internal to a plan job, never in outputs: up to date, and handed to a leg only so that
   * the leg (which may write) leaves its mirror record, or copies the signatures,
   * attestations or SBOMs that are new upstream.
   */
  recordByLeg?: true
}

export type Counts = Record<Status, number>

export function countByStatus(results: readonly MirrorResult[]): Counts {
  const counts = Object.fromEntries(STATUSES.map(s => [s, 0])) as Counts
  for (const r of results) counts[r.status]++
  return counts
}

/** The repository a result writes to (its target without tag or digest). */
export function targetRepository(result: MirrorResult): string {
  const parsed = parseReference(result.target)
  return parsed.ok ? repositoryName(parsed.ref) : result.target
}

/** Indices of the results `include` keeps, grouped by target repository, in order of first appearance. */
export function groupByRepository(
  results: readonly MirrorResult[],
  include: (result: MirrorResult, index: number) => boolean
): number[][] {
  const groups = new Map<string, number[]>()
  results.forEach((result, index) => {
    if (!include(result, index)) return
    const key = targetRepository(result)
    const group = groups.get(key)
    if (group) group.push(index)
    else groups.set(key, [index])
  })
  return [...groups.values()]
}
