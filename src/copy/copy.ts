/**
 * Copy: planned results → compared with the target (HEADs; a platform choice also reads
 * the source's index and what the mirrored tag holds), copied by an
 * engine, verified, and returned as results. A bounded pool runs images at
 * once; one image's failure never stops the others.
 */
import pLimit, { type LimitFunction } from 'p-limit'
import { debug } from '../action/log.js'
import type { CopyEngine } from './engines/engine.js'
import { EngineError } from './engines/engine.js'
import { expectation, ImageError, matches, type Expectation } from './expectation.js'
import { MirrorRecords } from './record.js'
import { copyReferrers, SourceTags, type ReferrerFilter } from './referrers.js'
import { Referrers } from '../registry/referrers.js'
import type { SignaturePolicy } from '../verify/policy.js'
import { NotVerified, verifyImage, type Verified } from '../verify/verify.js'
import {
  carriesBudget,
  isDeferred,
  type PullBudgets,
  type PullHold
} from '../registry/pull-budget.js'
import { parseReference, repositoryName, type ImageReference } from '../image/references.js'
import {
  formatPlatform,
  isIndex,
  type Manifest,
  type ManifestHead,
  type RegistryClient
} from '../registry/client.js'
import { groupByRepository, type MirrorResult } from '../image/results.js'
import { leftOutSaid, leftOutWords, parseTagPolicy, selectTags } from '../image/tag-policy.js'
import { errorMessage, isPermanent } from '../common/errors.js'
import { backoffDelay, sleep } from '../common/retry.js'

export interface CopyOptions {
  client: RegistryClient
  /** Absent in a dry run: compare only, write nothing. */
  engine?: CopyEngine
  platforms: 'all' | readonly string[]
  /** The engine can build an index of some platforms (crane); skopeo copies all or one. */
  severalPlatforms?: boolean
  skipUnchanged: boolean
  /** Attempts per image beyond the first. */
  retries: number
  retryDelayMs?: number
  concurrency: number
  insecure: ReadonlySet<string>
  /** Strings that must never reach a reason (passwords), however a tool phrased its error. */
  secrets?: readonly string[]
  /** Called as each image finishes, for progress lines. */
  onResult?: (result: MirrorResult) => void
  /** Called before each retry of an image, so a retried failure is never silent. */
  onRetry?: (result: MirrorResult, retry: RetryInfo) => void
  /** Told what went wrong that fails no image (a mirror record not written), once per registry. */
  warn?: (message: string) => void
  /** The run's pull budgets: a copy takes the pulls it will spend first, or is deferred. */
  budgets?: PullBudgets
  /**
   * With no engine (a plan job): a platform subset found current by reading the source index
   * is marked `recordByLeg`, so a leg, which may write, leaves the record that spares later
   * runs a pull.
   */
  leaveUnrecorded?: boolean
  /**
   * Signatures, attestations and SBOMs copied after each image (and for images up to date),
   * by `transfer` whatever the engine; absent in a dry run or when the input turns it off.
   * Without `transfer` (a plan job whose legs copy), an image up to date whose referrers
   * changed upstream is marked `recordByLeg`, so a leg copies them.
   */
  referrers?: { transfer?: CopyEngine; filter: ReferrerFilter }
  /** Images a rule names are copied only once one of its keys is found to have signed them. */
  policy?: SignaturePolicy
}

export interface RetryInfo {
  /** The attempt about to start (2 for the first retry) and how many there may be. */
  attempt: number
  attempts: number
  waitMs: number
  /** Why the previous attempt failed (secrets removed). */
  reason: string
  /** The engine had retried that failure itself: failing so again ends the image's attempts. */
  lastIfRetriedAgain?: boolean
}

/**
 * Attempts given to an image whose copies keep failing in a way the engine
 * had already retried itself. crane tries each request 3 times (1 s, then 3 s
 * apart) and an upload 3 times over that, without reading Retry-After: under
 * 4 attempts a registry that keeps answering 429 or 5xx would be asked 12
 * times for a manifest and 36 times for a blob. Two attempts keep a second
 * chance after this layer's backoff and halve that.
 */
export const ENGINE_RETRIED_ATTEMPTS = 2

function parse(reference: string): ImageReference {
  const parsed = parseReference(reference)
  if (!parsed.ok) throw new ImageError(`cannot read ${reference}: ${parsed.reason}`, true)
  return parsed.ref
}

/** Pages of a tag list a policy reads (1,000 tags a page): a million tags. */
const MAX_TAG_PAGES = 1000

/**
 * Replace each tag policy's result (`repo:/regex/`, `repo:semver(>=1.26) newest(3)`) by one
 * result per tag it selects from the source's tag list (tag-policy.ts). A regex is anchored as
 * the user wrote it (README, Image entries): `/^1\./` is not `/1\./`.
 */
export async function expandTagFilters(
  results: readonly MirrorResult[],
  client: RegistryClient
): Promise<MirrorResult[]> {
  const expanded: MirrorResult[] = []
  // A tag two entries select (two policies, or a policy and the tag itself) is copied once.
  const planned = new Map<string, MirrorResult>()
  const listed = new Map<string, Promise<{ tags: string[]; complete: boolean }>>()
  for (const result of results) {
    if (!result.tagFilter && result.status === 'planned') planned.set(result.source, result)
  }
  for (const result of results) {
    if (!result.tagFilter || result.status !== 'planned') {
      expanded.push(result)
      continue
    }
    const { registry, repository } = parse(result.source)
    const name = repositoryName({ registry, repository })
    // Upstream owners choose the tags: the policy runs in linear time whatever they are.
    const parsed = parseTagPolicy(result.tagFilter)
    if (!parsed.ok) {
      expanded.push({ ...result, status: 'rejected', reason: `tag policy ${parsed.reason}` })
      continue
    }
    const { policy } = parsed
    let tags: string[]
    try {
      // Listed once a run per repository, however many policies read it.
      const listing = listed.get(name) ?? client.listTagPages(registry, repository, MAX_TAG_PAGES)
      listed.set(name, listing)
      const { tags: all, complete } = await listing
      // newest(N) or a range read on part of the list would choose among the wrong tags.
      if (!complete) {
        expanded.push({
          ...result,
          status: 'rejected',
          reason: `${result.source} lists more than ${MAX_TAG_PAGES} pages of tags; a tag policy would choose from part of them: name the tags instead`
        })
        continue
      }
      tags = all
    } catch (error) {
      expanded.push({
        ...result,
        // A registry that said its pull limit is reached: the next run lists them.
        status: isDeferred(error) ? 'deferred' : 'failed',
        reason: isDeferred(error)
          ? `the tags of ${result.source} were not listed: ${errorMessage(error)}`
          : `listing the tags of ${result.source} failed: ${errorMessage(error)}`
      })
      continue
    }
    const chosen = selectTags(policy, tags)
    const selection = {
      policy: policy.text,
      seen: chosen.seen,
      selected: chosen.selected.length,
      first: chosen.selected.slice(0, 5),
      leftOut: leftOutSaid(chosen, policy)
    }
    const why = leftOutWords(chosen, policy)
    debug(
      () =>
        `${result.source} ${policy.text}: ${chosen.selected.length} of ${tags.length} tag(s) selected; left out: ${why || 'none'}`
    )
    if (chosen.selected.length === 0) {
      expanded.push({
        ...result,
        status: 'rejected',
        reason: `no tag of ${result.source} matches ${result.tagFilter} (${tags.length} tag(s) listed${why ? `: ${why}` : ''})`,
        selection
      })
      continue
    }
    let first = true
    for (const tag of chosen.selected) {
      const source = `${name}:${tag}`
      const already = planned.get(source)
      if (already) {
        already.note = [already.note, `also matched ${result.tagFilter}`].filter(Boolean).join('; ')
        continue
      }
      const { tagFilter: _filter, ...rest } = result
      void _filter
      const image: MirrorResult = {
        ...rest,
        source,
        target: `${result.target}:${tag}`,
        note: [result.note, `matched ${result.tagFilter}`].filter(Boolean).join('; '),
        ...(first ? { selection } : {})
      }
      first = false
      planned.set(source, image)
      expanded.push(image)
    }
    // Every tag it chose was asked for already: the selection is said on the first of them.
    if (first) {
      const free = chosen.selected
        .map(tag => planned.get(`${name}:${tag}`))
        .find(r => r && !r.selection)
      if (free) free.selection = selection
    }
  }
  return expanded
}

/**
 * Images compared with the target at once, whatever `concurrency` says: a
 * comparison is a few HEADs, waiting on round trips, so a run of thousands of
 * unchanged images is bound by this, not by how many copies may run at once.
 */
export const COMPARE_CONCURRENCY = 16

/**
 * What the images of one run share: the two pools an image passes through, comparing (wide)
 * then copying (`concurrency`), and the mirror records of the target.
 */
interface Pools {
  compare: LimitFunction
  copy: LimitFunction
  records: MirrorRecords
  /** Which registries have the referrers API, learnt once for records and signatures alike. */
  referrers: Referrers
  /** The source repositories' tags, listed once, for cosign's and the fallback tags. */
  sourceTags: SourceTags
  /** Registries a record could not be written to, warned about once. */
  unrecorded: Set<string>
}

/**
 * An image's turn to join the copy pool: copies start in the start order
 * (repositories in turn, the list's order within each), whichever comparison
 * ends first. `wait` settles when the image before it has joined the pool or
 * needed no copy; `pass()` lets the next one go.
 */
interface Turn {
  wait: Promise<void>
  pass: () => void
}

function turns(count: number): Turn[] {
  const list: Turn[] = []
  let previous: Promise<void> = Promise.resolve()
  for (let i = 0; i < count; i++) {
    let pass: () => void = () => {}
    const passed = new Promise<void>(resolve => (pass = resolve))
    list.push({ wait: previous, pass })
    previous = passed
  }
  return list
}

/** Copy every planned result; others pass through unchanged. Order is kept. */
export async function copyImages(
  results: readonly MirrorResult[],
  options: CopyOptions
): Promise<MirrorResult[]> {
  const referrers = new Referrers(options.client)
  const pools: Pools = {
    compare: pLimit(Math.max(COMPARE_CONCURRENCY, options.concurrency)),
    copy: pLimit(options.concurrency),
    records: new MirrorRecords(options.client, referrers),
    referrers,
    sourceTags: new SourceTags(options.client),
    unrecorded: new Set()
  }
  const done: Promise<MirrorResult>[] = results.map(result => Promise.resolve(result))
  const toCopy = (result: MirrorResult) => result.status === 'planned' && !result.tagFilter
  const order = startOrder(groupByRepository(results, toCopy))
  const turn = turns(order.length)
  for (const [position, index] of order.entries()) {
    done[index] = (async () => {
      const copied = await mirrorOne(
        results[index] as MirrorResult,
        options,
        pools,
        turn[position] as Turn
      )
      options.onResult?.(copied)
      return copied
    })()
  }
  return Promise.all(done)
}

/**
 * Indices taken from each repository in turn, so images running at once go to different
 * repositories: tags of one repository share their layers, and two copies at once would both
 * upload them (and a registry may refuse a manifest whose blob another upload is still
 * writing). Results keep their own order.
 */
export function startOrder(groups: readonly number[][]): number[] {
  const order: number[] = []
  const rounds = Math.max(0, ...groups.map(group => group.length))
  for (let round = 0; round < rounds; round++) {
    for (const group of groups) if (round < group.length) order.push(group[round] as number)
  }
  return order
}

async function mirrorOne(
  result: MirrorResult,
  options: CopyOptions,
  pools: Pools,
  turn: Turn
): Promise<MirrorResult> {
  const started = Date.now()
  const state: { copied: boolean; expected?: Expectation } = { copied: false }
  const attempts = options.retries + 1
  let lastError: unknown
  let made = 0
  let engineRetried = 0
  for (let attempt = 0; attempt <= options.retries; attempt++) {
    if (attempt > 0) {
      const base = options.retryDelayMs ?? 2000
      const waitMs = backoffDelay(attempt - 1, base, 60_000)
      const reason = scrub(errorMessage(lastError), options.secrets)
      options.onRetry?.(result, {
        attempt: attempt + 1,
        attempts,
        waitMs,
        reason,
        lastIfRetriedAgain: engineRetried === ENGINE_RETRIED_ATTEMPTS - 1
      })
      await sleep(waitMs)
    }
    made++
    try {
      const done = await attemptOne(result, options, state, pools, turn)
      if (attempt > 0) {
        // Said in the result too: a success that needed retries is worth knowing about.
        const last = scrub(errorMessage(lastError), options.secrets)
        const retried = `${done.status} on attempt ${attempt + 1} of ${attempts}; attempt ${attempt} failed: ${last.length > 300 ? `${last.slice(0, 299)}…` : last}`
        done.note = [done.note, retried].filter(Boolean).join('; ')
      }
      return { ...done, seconds: (Date.now() - started) / 1000 }
    } catch (error) {
      lastError = error
      // Not attempted for want of pulls: the next run takes it, no retry can help now. Once
      // copied it was attempted: a budget met while verifying fails it like any other doubt.
      if (isDeferred(error) && state.copied) {
        lastError = new ImageError(`copied, but not verified: ${errorMessage(error)}`, true)
        break
      }
      if (isDeferred(error)) {
        return {
          ...result,
          status: 'deferred',
          reason: scrub(errorMessage(error), options.secrets),
          seconds: (Date.now() - started) / 1000
        }
      }
      if (isPermanent(error)) break
      // Counted in a row, so "each retried by the engine itself" is true when it stops.
      engineRetried = error instanceof ImageError && error.retriedByEngine ? engineRetried + 1 : 0
      if (engineRetried >= ENGINE_RETRIED_ATTEMPTS) break
    }
  }
  const tries =
    engineRetried >= ENGINE_RETRIED_ATTEMPTS && made < attempts
      ? ` (after ${made} attempts, each retried by ${options.engine?.name ?? 'the engine'} itself; not tried again in this run)`
      : options.retries > 0 && !isPermanent(lastError)
        ? ` (after ${made} attempts)`
        : ''
  return {
    ...result,
    // A request that cannot be served as asked (a stale tag@digest) was never attempted.
    status: lastError instanceof ImageError && lastError.rejected ? 'rejected' : 'failed',
    reason: scrub(`${errorMessage(lastError)}${tries}`, options.secrets),
    seconds: (Date.now() - started) / 1000
  }
}

interface AttemptState {
  copied: boolean
  expected?: Expectation
  /** Who signed what is to be copied, once the policy's check passed. */
  verified?: Verified
  /** The source (and child) digest that check was of. */
  verifiedFor?: string
}

/** One attempt: compare (in the wide pool), then copy and verify (in the copy pool). */
async function attemptOne(
  result: MirrorResult,
  options: CopyOptions,
  state: AttemptState,
  pools: Pools,
  turn: Turn
): Promise<MirrorResult> {
  let compared
  try {
    compared = await pools.compare(() => compareOne(result, options, state, pools))
  } catch (error) {
    turn.pass()
    throw error
  }
  if ('done' in compared) {
    turn.pass()
    return compared.done
  }
  await turn.wait
  // Joining the pool is what keeps the order: the next image may join once this one has.
  const copying = pools.copy(() => copyOne(result, options, state, compared, pools))
  turn.pass()
  return copying
}

/** What a comparison leaves for the copy: what to make, and with what. */
interface Compared {
  source: ImageReference
  target: ImageReference
  expected: Expectation
  engine: CopyEngine
}

async function compareOne(
  result: MirrorResult,
  options: CopyOptions,
  state: AttemptState,
  pools: Pools
): Promise<{ done: MirrorResult } | Compared> {
  const { client } = options
  const source = parse(result.source)
  const target = parse(result.target)
  // Decided once the copy is made: a retry verifies against what was copied.
  const expected = state.expected ?? (await decide(source, target, options, pools.records))
  debug(
    () =>
      `${result.source}: source ${expected.sourceDigest}, ${expected.platforms === 'all' ? 'all platforms' : expected.platforms.join(', ')}${expected.satisfied ? ', already held by the target' : ''}${expected.note ? `; ${expected.note}` : ''}`
  )

  // The engine pushes a tag when there is one; a digest-only request lands by digest.
  const targetRef = target.tag ?? expected.sourceDigest
  // A platform subset the tag already holds is never copied again: nothing would change.
  const subsetHeld = expected.satisfied && expected.platforms !== 'all'
  if (!state.copied && (options.skipUnchanged || subsetHeld)) {
    const present = await client.headManifest(target.registry, target.repository, targetRef)
    if (present && (await matches(present, expected, target, client))) {
      debug(() => `${result.target}: up to date, it holds ${present.digest}, what the source has`)
      // A subset found current by reading the source index: recorded, so the next run is not.
      const current = withDigests(result, 'unchanged', present.digest, expected)
      if (!expected.recorded && needsRecord(present, expected)) {
        if (options.engine) await record(result, target, present, expected, options, pools)
        else if (options.leaveUnrecorded) {
          const why = 'a leg writes its mirror record, so later runs need not read the source index'
          const note = [current.note, why].filter(Boolean).join('; ')
          return { done: { ...current, note, recordByLeg: true } }
        }
      }
      return {
        done: await attach(current, source, target, present, expected, options, pools)
      }
    }
    debug(
      () =>
        `${result.target}: holds ${present?.digest || 'nothing'}, not what the source has; to copy`
    )
  } else if (!state.copied) {
    debug(
      () =>
        `${result.target}: skip-unchanged is false; not compared with the target${options.engine ? '' : ' (no copy in this job: left planned)'}`
    )
  }
  if (!options.engine) return { done: withDigests(result, 'planned', undefined, expected) }
  return { source, target, expected, engine: options.engine }
}

async function copyOne(
  result: MirrorResult,
  options: CopyOptions,
  state: AttemptState,
  compared: Compared,
  pools: Pools
): Promise<MirrorResult> {
  const { client } = options
  const { source, target, engine } = compared
  let { expected } = compared
  const targetRef = target.tag ?? expected.sourceDigest
  const headTarget = async () =>
    (await client.headManifest(target.registry, target.repository, targetRef))?.digest ?? ''
  const again = () => decide(source, target, options, pools.records)
  if (!state.copied) {
    // What the tag keeps was decided from what it held: if another run changed it since (two
    // issues at once), decide again, so neither takes away what the other added. What is left
    // is the moment between the last read and the engine's push.
    // Read again here, not taken from the comparison: a copy may wait in its pool for minutes.
    if (expected.held !== undefined && (await headTarget()) !== expected.held) {
      expected = await again()
      if (expected.held !== undefined && (await headTarget()) !== expected.held) {
        throw new ImageError(
          `${result.target} changed while it was being read (another run is writing it); not copied, so nothing it holds is lost`,
          false
        )
      }
    }
    // Checked for what this attempt copies: a retry may find the tag moved to other content.
    const checking = `${expected.sourceDigest} ${expected.digest ?? ''}`
    if (state.verifiedFor !== checking) {
      state.verified = await verifySource(result, source, expected, options, pools)
      state.verifiedFor = checking
    }
    const hold = await takePulls(result, source, expected, options)
    try {
      await engine.copy({
        source: `${repositoryName(source)}@${expected.sourceDigest}`,
        target: `${repositoryName(target)}${target.tag ? `:${target.tag}` : `@${expected.sourceDigest}`}`,
        platforms: expected.platforms,
        insecureSource: options.insecure.has(source.registry),
        insecureTarget: options.insecure.has(target.registry)
      })
    } catch (error) {
      if (isDeferred(error)) throw error
      const message = scrub(errorMessage(error), options.secrets)
      // The engine met the pull limit (Docker Hub's words in its error): the rest from that
      // registry waits. It is the source's, unless only the target is named in the error.
      if (options.budgets && /pull rate limit/i.test(message)) {
        const refusedBy =
          names(message, target.registry) && !names(message, source.registry)
            ? target.registry
            : source.registry
        throw options.budgets.exhausted(
          refusedBy,
          `the engine was refused: ${message.slice(0, 200)}`
        )
      }
      throw new ImageError(
        message,
        isPermanent(error),
        false,
        error instanceof EngineError && error.retried
      )
    } finally {
      await settlePulls(hold, source, options)
    }
    state.copied = true
    state.expected = expected
  }

  // Verify: the target must now hold exactly what the source had (or the chosen platforms).
  const after = await client.headManifest(target.registry, target.repository, targetRef)
  if (!after) throw new ImageError(`the target has no ${result.target} after the copy`, false)
  if (!(await matches(after, expected, target, client))) {
    const want =
      expected.digest ?? `an index of ${[...(expected.children ?? [])].length} platform(s)`
    throw new ImageError(
      `verification failed: the target has ${after.digest || 'no digest'}, the source ${want}`,
      true
    )
  }
  debug(() => `${result.target}: verified, it holds ${after.digest}`)
  await record(result, target, after, expected, options, pools)
  const copied = {
    ...withDigests(result, 'copied', after.digest, expected),
    ...(state.verified ? { verified: state.verified } : {})
  }
  const described = { ...copied, ...(await describeTarget(client, target, after.digest)) }
  return attach(described, source, target, after, expected, options, pools)
}

/**
 * The policy's check of what is about to be copied: the source digest (for one platform of
 * an index, that image's digest will do too). Undefined when no rule names the image; an
 * image that fails is rejected, and nothing of it is copied.
 */
async function verifySource(
  result: MirrorResult,
  source: ImageReference,
  expected: Expectation,
  options: CopyOptions,
  pools: Pools
): Promise<Verified | undefined> {
  const policy = options.policy
  const rule = policy?.ruleFor(source)
  if (!policy || !rule) return undefined
  const digests = [expected.sourceDigest]
  if (expected.platforms !== 'all' && expected.digest && expected.digest !== expected.sourceDigest)
    digests.push(expected.digest)
  try {
    const verified = await verifyImage(source, digests, rule, {
      client: options.client,
      referrers: pools.referrers,
      hasTag: (where, tag) => pools.sourceTags.has(where, tag),
      trustRoot: () => policy.trustRoot(),
      ...(policy.record.trustedRootName ? { trustRootName: policy.record.trustedRootName } : {})
    })
    debug(
      () => `${result.source}: ${verified.digest} signed by ${verified.by} (${verified.format})`
    )
    return verified
  } catch (error) {
    if (error instanceof NotVerified) throw new ImageError(error.message, true, true)
    throw error
  }
}

/**
 * Copy the referrers of what the target holds (see referrers.ts) and say what came. A budget
 * spent first leaves them to the next run (an image up to date is then deferred: that is all
 * it had to do). Otherwise a copied image fails the attempt, to be tried again like the copy;
 * an image up to date stays so, with a note and a warning, and the next run tries again.
 */
async function attach(
  result: MirrorResult,
  source: ImageReference,
  target: ImageReference,
  held: ManifestHead,
  expected: Expectation,
  options: CopyOptions,
  pools: Pools
): Promise<MirrorResult> {
  if (!options.referrers || !held.digest) return result
  const { transfer, filter } = options.referrers
  try {
    const attached = await copyReferrers(source, target, held, expected.sourceDigest, {
      client: options.client,
      referrers: pools.referrers,
      sourceTags: pools.sourceTags,
      ...(transfer ? { transfer } : {}),
      filter,
      insecure: options.insecure
    })
    if (!transfer) {
      if (attached.copied === 0) return result
      const why = `${attached.copied} signature(s), attestation(s) or SBOM(s) new upstream: a leg copies them`
      return { ...result, note: [result.note, why].filter(Boolean).join('; '), recordByLeg: true }
    }
    const left = attached.leftOut
      ? `${attached.leftOut} referrer(s) left out: ${scrub((attached.notCopied ?? []).join('; '), options.secrets)}`
      : ''
    return {
      ...result,
      attached,
      ...(left ? { note: [result.note, left].filter(Boolean).join('; ') } : {})
    }
  } catch (error) {
    const message = scrub(errorMessage(error), options.secrets)
    const what = 'its signatures, attestations and SBOMs'
    if (isDeferred(error)) {
      const waits = `${what} wait for the next run: ${message}`
      if (result.status === 'unchanged')
        return { ...result, status: 'deferred', reason: `up to date; ${waits}` }
      return { ...result, note: [result.note, waits].filter(Boolean).join('; ') }
    }
    // An image up to date is still right: what it lacks is said, and the next run tries again.
    if (result.status !== 'copied') {
      options.warn?.(`${result.target}: ${what} new upstream were not copied: ${message}`)
      const note = `${what} new upstream were not copied (the next run tries again): ${message}`
      return { ...result, note: [result.note, note].filter(Boolean).join('; ') }
    }
    throw new ImageError(
      `copied and verified, but ${what} were not copied: ${message}`,
      isPermanent(error)
    )
  }
}

/** Whether an engine's message names a registry (Docker Hub by any of its hosts). */
function names(message: string, registry: string): boolean {
  const text = message.toLowerCase()
  return registry === 'docker.io'
    ? /\bdocker\.io\b/.test(text)
    : text.includes(registry.toLowerCase())
}

/**
 * Take from the source registry's pull budget what the copy will spend, before it starts.
 * An index not read yet is costed by its size (an upper bound); when that bound does not fit,
 * the index is read (one pull) to know the cost exactly.
 */
async function takePulls(
  result: MirrorResult,
  source: ImageReference,
  expected: Expectation,
  options: CopyOptions
): Promise<PullHold | undefined> {
  const { budgets, client } = options
  // A budget once read, or spent by a 429 that gave no reading: either way the copy asks it.
  if (!budgets?.applies(source.registry)) return undefined
  const what = `${result.source}`
  if (expected.pulls !== undefined) return budgets.take(source.registry, expected.pulls, what)
  if (expected.pullsAtMost !== undefined) {
    try {
      return await budgets.take(source.registry, expected.pullsAtMost, what)
    } catch (error) {
      if (!isDeferred(error)) throw error
    }
  }
  // The fewest an index can cost (itself and one child) plus the read: if even that cannot
  // fit, a pull spent learning the exact cost would be wasted. One copy at a time learns its
  // cost and takes it, so the next sees what is left before it spends a read.
  return budgets.oneAtATime(source.registry, async () => {
    const least = `${what} (an index: reading it and copying one child)`
    if (!(await budgets.fits(source.registry, 3))) return budgets.take(source.registry, 3, least)
    const index = await client.getManifest(
      source.registry,
      source.repository,
      expected.sourceDigest
    )
    const children = index?.body.manifests
    const cost = 1 + (Array.isArray(children) ? children.length : 0)
    return budgets.take(source.registry, cost, what)
  })
}

/**
 * After a copy, read what it spent (a HEAD of the source: free, and its answer counts the
 * copy's pulls) before the pulls it held go back to the budget.
 */
async function settlePulls(
  hold: PullHold | undefined,
  source: ImageReference,
  options: CopyOptions
): Promise<void> {
  if (!hold) return
  const { client } = options
  const reference = source.digest ?? source.tag ?? 'latest'
  try {
    const path = `manifests/${reference}`
    await hold.settle(
      () => client.send('HEAD', source.registry, source.repository, path),
      answer => carriesBudget(answer.headers)
    )
  } catch (error) {
    // Unread, the pulls counted as spent: the budget only ever errs on the side of fewer.
    debug(
      () =>
        `${repositoryName(source)}: the pulls a copy spent could not be read back: ${errorMessage(error)}`
    )
  }
}

/** What the target must hold, decided from the source and the tag as they are now. */
function decide(
  source: ImageReference,
  target: ImageReference,
  options: CopyOptions,
  records: MirrorRecords
): Promise<Expectation> {
  return expectation(source, target, {
    client: options.client,
    platforms: options.platforms,
    severalPlatforms: options.severalPlatforms ?? true,
    records
  })
}

/** Whether a subset the target holds wants a record: a whole image is told by its digest. */
function needsRecord(
  held: ManifestHead,
  expected: Expectation
): expected is Expectation & {
  record: NonNullable<Expectation['record']>
} {
  // A registry that sent no size or type cannot be named as a subject.
  if (!expected.record || held.digest === expected.sourceDigest) return false
  return Boolean(held.digest && held.mediaType && held.size > 0)
}

/**
 * Write the mirror record of a verified subset (see record.ts). It only saves the next run a
 * pull, so a failure fails no image: it is said once per registry.
 */
async function record(
  result: MirrorResult,
  target: ImageReference,
  held: ManifestHead,
  expected: Expectation,
  options: CopyOptions,
  pools: Pools
): Promise<void> {
  if (!needsRecord(held, expected)) return
  const source = parse(result.source)
  try {
    await pools.records.write(target, held, {
      source: repositoryName(source),
      sourceDigest: expected.sourceDigest,
      offered: expected.record.offered,
      held: expected.record.held
    })
  } catch (error) {
    const message = scrub(errorMessage(error), options.secrets)
    debug(() => `${result.target}: mirror record not written: ${message}`)
    if (pools.unrecorded.has(target.registry)) return
    pools.unrecorded.add(target.registry)
    options.warn?.(
      `${target.registry}: a mirror record could not be written (${message}); platform subsets there stay correct, but checking them reads the source index (a pull on Docker Hub) on every run, in a matrix run in the plan and a leg`
    )
  }
}

function withDigests(
  result: MirrorResult,
  status: MirrorResult['status'],
  digest: string | undefined,
  expected: Expectation
): MirrorResult {
  const out: MirrorResult = { ...result, status }
  const finalDigest = digest ?? expected.digest
  if (finalDigest) out.digest = finalDigest
  if (finalDigest !== expected.sourceDigest) out.sourceDigest = expected.sourceDigest
  const notes = [result.note, expected.note]
  if (status !== 'unchanged' && finalDigest && finalDigest !== expected.sourceDigest) {
    notes.push(
      `digest changed from the source's ${expected.sourceDigest} to ${finalDigest} (platforms subset)`
    )
  }
  const note = notes.filter(Boolean).join('; ')
  if (note) out.note = note
  return out
}

/** Platforms and size of what the target now holds, read from the target (not the source). */
async function describeTarget(
  client: RegistryClient,
  target: ImageReference,
  digest: string
): Promise<Pick<MirrorResult, 'platforms' | 'size'>> {
  try {
    const top = await client.getManifest(target.registry, target.repository, digest)
    if (!top) return {}
    const images = isIndex(top.mediaType)
      ? (top.body.manifests ?? []).filter(m => m.platform?.os !== 'unknown').slice(0, 32)
      : []
    if (images.length === 0) return { size: imageSize(top) }
    let size = 0
    for (const child of images) {
      const manifest = await client.getManifest(target.registry, target.repository, child.digest)
      size += manifest ? imageSize(manifest) : 0
    }
    return {
      platforms: images.map(m => (m.platform ? formatPlatform(m.platform) : 'unknown')),
      size
    }
  } catch {
    // Details are a courtesy; a copy that verified is not failed for lack of them.
    return {}
  }
}

function imageSize(manifest: Manifest): number {
  return (
    (manifest.body.config?.size ?? 0) +
    (manifest.body.layers ?? []).reduce((sum, layer) => sum + (layer.size ?? 0), 0)
  )
}

/** Remove secrets from text that will be shown (tools sometimes echo a URL with credentials). */
export function scrub(text: string, secrets: readonly string[] = []): string {
  let out = text
  for (const secret of secrets) if (secret.length >= 3) out = out.split(secret).join('***')
  return out
}
