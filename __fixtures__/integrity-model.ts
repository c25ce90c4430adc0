/**
 * The model behind the integrity test (__tests__/integrity.model.e2e.test.ts):
 * what the mirror promises, written as pure functions over what the test saw.
 *
 * The promise: `mirror/<registry>/<repo>:<tag>` serves what
 * `<registry>/<repo>:<tag>` is upstream, and what a mirrored tag serves
 * changes only when its source tag changes upstream (or, for a platform
 * subset, when platforms are added). No issue may break that.
 *
 * The test generates steps from a seeded PRNG (`Random`, mulberry32) and the
 * upstream model alone (`nextStep`), so a seed replays the same steps whatever
 * the action answered. After every step it reads the target and hands what it
 * saw to `checkStep`, which returns the broken invariants:
 *
 * (a) provenance: a mirrored tag holds some upstream value V of that tag: V's
 *     digest, one of V's children, or an index whose children are V's children.
 * (b) no downgrade: the place in the tag's history of what the target holds
 *     never goes back, and a mirrored tag never disappears.
 * (c) served means current: after `copied` or `unchanged` for a tag, the target
 *     holds the tag's current upstream value (the whole index when no platform
 *     was chosen), with every platform asked that upstream offers; a tag not
 *     mirrored before, asked for one platform, is exactly that platform's image.
 *     A request the tag already satisfies is `unchanged` and keeps the digest.
 *     A digest served alone is in the target by digest.
 * (d) no shrink: while the target holds the same upstream value, the platforms
 *     it holds never shrink; when it moves on to a newer value, it keeps every
 *     platform it held that the newer value still offers (docs/integrity.md:
 *     what it held plus what was asked, mapped onto the source as it is now).
 * (e) refusals: a `tag@digest` naming a digest the tag does not point at now is
 *     `rejected`; a `rejected` tag is left as it was, and the answer on the
 *     issue says why (quotes the reason; the stale pin's answer names both digests).
 * (f) only what was asked moves: a step changes no target tag it did not name
 *     (upstream changes move nothing; a digest alone moves no tag).
 * (g) nothing unasked: the target lists no tag that no step asked for.
 * (s) service: a request the source can serve (no stale pin, no platform the
 *     source lacks) is `copied` or `unchanged`, so the checks above never pass
 *     because nothing happened.
 */

/** Platforms upstream indexes are built from, in the order they are listed. */
export const PLATFORMS = ['linux/amd64', 'linux/arm64', 'linux/s390x'] as const

/** The platform of a single-platform image from seed-images' pushImage (no `platforms`). */
export const SINGLE_PLATFORM = 'linux/amd64'

/** Words an issue may use to choose a platform (src/issue/request.ts reads them), as os/arch. */
const PLATFORM_WORDS: Record<string, string> = {
  'linux/amd64': 'linux/amd64',
  amd64: 'linux/amd64',
  'linux/arm64': 'linux/arm64',
  arm64: 'linux/arm64',
  'linux/s390x': 'linux/s390x',
  s390x: 'linux/s390x'
}

/** `arm64` → `linux/arm64`; a word the model does not use is returned as it is. */
export function platformOf(word: string): string {
  return PLATFORM_WORDS[word] ?? word
}

// ---------------------------------------------------------------------------
// Randomness

/** mulberry32: a tiny, fast 32-bit PRNG; the same seed gives the same sequence. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Choices drawn from one mulberry32 stream. */
export class Random {
  private readonly next: () => number
  constructor(seed: number) {
    this.next = mulberry32(seed)
  }
  /** In [0, 1). */
  float(): number {
    return this.next()
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n)
  }
  chance(p: number): boolean {
    return this.next() < p
  }
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from nothing')
    return items[this.int(items.length)] as T
  }
  /** `k` distinct items, in the order they have in `items`. */
  sample<T>(items: readonly T[], k: number): T[] {
    const chosen = new Set<number>()
    while (chosen.size < Math.min(k, items.length)) chosen.add(this.int(items.length))
    return items.filter((_, i) => chosen.has(i))
  }
  /** A key of `weights`, with chances proportional to its weight. */
  weighted<K extends string>(weights: Record<K, number>): K {
    const entries = Object.entries(weights) as [K, number][]
    let r = this.float() * entries.reduce((sum, [, w]) => sum + w, 0)
    for (const [key, w] of entries) {
      r -= w
      if (r < 0) return key
    }
    return (entries.at(-1) as [K, number])[0]
  }
}

// ---------------------------------------------------------------------------
// Upstream

/** One value a source tag has had. */
export interface UpstreamValue {
  /** `repo:tag` */
  key: string
  /** Place in the tag's history: 0 for the first value pushed under it. */
  position: number
  /** `library/app:1.0#2`, for messages. */
  label: string
  /** What the tag pointed at: an index, or a single-platform image. */
  digest: string
  /** An index's images by platform; empty for a single-platform image. */
  children: readonly { platform: string; digest: string }[]
  /** Platforms this value offers. */
  platforms: readonly string[]
}

/** Every value every source tag has had, in order. */
export class UpstreamModel {
  private readonly values = new Map<string, UpstreamValue[]>()

  constructor(
    readonly repos: readonly string[],
    readonly tagPool: readonly string[]
  ) {}

  /** The values of `repo:tag`, oldest first (empty when it was never pushed). */
  history(key: string): readonly UpstreamValue[] {
    return this.values.get(key) ?? []
  }

  current(key: string): UpstreamValue | undefined {
    return this.values.get(key)?.at(-1)
  }

  /** Tags of `repo` that exist upstream, in the order they first appeared. */
  tags(repo: string): string[] {
    return [...this.values.keys()].filter(k => repoOf(k) === repo).map(tagOf)
  }

  /** Every value of every tag. */
  all(): UpstreamValue[] {
    return [...this.values.values()].flat()
  }

  /** Record what a push put under `repo:tag` (pushImage's answer). */
  record(
    repo: string,
    tag: string,
    pushed: { digest: string; children: readonly { platform: string; digest: string }[] }
  ): UpstreamValue {
    const key = `${repo}:${tag}`
    const list = this.values.get(key) ?? []
    const value: UpstreamValue = {
      key,
      position: list.length,
      label: `${key}#${list.length}`,
      digest: pushed.digest,
      children: pushed.children.map(c => ({ ...c })),
      platforms: pushed.children.length ? pushed.children.map(c => c.platform) : [SINGLE_PLATFORM]
    }
    list.push(value)
    this.values.set(key, list)
    return value
  }
}

export const repoOf = (key: string): string => key.slice(0, key.lastIndexOf(':'))
export const tagOf = (key: string): string => key.slice(key.lastIndexOf(':') + 1)

// ---------------------------------------------------------------------------
// Steps

/** Push new content under a source tag (a retag when the tag exists). */
export interface PushStep {
  kind: 'push'
  repo: string
  tag: string
  /** Platforms of the index pushed; undefined for a single-platform image. */
  platforms?: string[]
  /** Content seed for pushImage: unique per step, so no two values share a digest. */
  seed: string
  retag: boolean
}

export type RequestForm = 'tag' | 'pin-current' | 'pin-stale' | 'digest' | 'platform' | 'list'

/** An issue asking for one image (or one tag list), optionally choosing a platform. */
export interface RequestStep {
  kind: 'request'
  form: RequestForm
  repo: string
  /** Tags named: one, several for a list, none for a digest alone. */
  tags: string[]
  /** The digest written after `@`. */
  digest?: string
  /** The upstream value that digest is (its label), for the step list. */
  digestOf?: string
  /** The platform line of the issue body, as written (`arm64`, `linux/s390x`). */
  platformWord?: string
}

export type Step = PushStep | RequestStep

const REQUEST_WEIGHTS: Record<RequestForm, number> = {
  tag: 2,
  'pin-current': 1,
  'pin-stale': 2,
  digest: 1,
  platform: 3,
  list: 2.5
}

/**
 * The next step, from the PRNG and the upstream model only (never from what
 * the action did), so a seed always replays the same steps. The first steps
 * give every repository a tag; then upstream changes and issues are mixed.
 */
export function nextStep(rng: Random, model: UpstreamModel, seed: string): Step {
  const bare = model.repos.find(r => model.tags(r).length === 0)
  if (bare) return push(rng, model, bare, model.tagPool[0] as string, seed)
  const r = rng.float()
  if (r < 0.15) {
    const repo = rng.pick(model.repos)
    return push(rng, model, repo, rng.pick(model.tags(repo)), seed)
  }
  if (r < 0.25) {
    const repo = rng.pick(model.repos)
    const unused = model.tagPool.filter(t => !model.tags(repo).includes(t))
    return push(
      rng,
      model,
      repo,
      unused.length ? rng.pick(unused) : rng.pick(model.tags(repo)),
      seed
    )
  }
  return request(rng, model)
}

function push(
  rng: Random,
  model: UpstreamModel,
  repo: string,
  tag: string,
  seed: string
): PushStep {
  const single = rng.chance(0.2)
  const step: PushStep = {
    kind: 'push',
    repo,
    tag,
    seed,
    retag: model.tags(repo).includes(tag)
  }
  if (!single) step.platforms = rng.sample(PLATFORMS, rng.chance(0.5) ? 3 : 2)
  return step
}

function platformWord(rng: Random, offered: readonly string[]): string {
  const platform = rng.chance(0.75) ? rng.pick(offered) : rng.pick(PLATFORMS)
  return rng.chance(0.5) ? platform : platform.slice(platform.indexOf('/') + 1)
}

function request(rng: Random, model: UpstreamModel): RequestStep {
  let form = rng.weighted(REQUEST_WEIGHTS)
  const repo = rng.pick(model.repos)
  const tags = model.tags(repo)
  const tag = rng.pick(tags)
  const current = model.current(`${repo}:${tag}`) as UpstreamValue
  if (form === 'list' && tags.length < 2) form = 'tag'
  if (form === 'pin-stale') {
    // An older value of this tag, or any value of another tag of the repository.
    const stale = [
      ...model.history(`${repo}:${tag}`).slice(0, -1),
      ...tags.filter(t => t !== tag).flatMap(t => [...model.history(`${repo}:${t}`)])
    ]
    if (stale.length === 0) form = 'pin-current'
    else {
      const value = rng.pick(stale)
      return {
        kind: 'request',
        form,
        repo,
        tags: [tag],
        digest: value.digest,
        digestOf: value.label
      }
    }
  }
  switch (form) {
    case 'pin-current':
      return {
        kind: 'request',
        form,
        repo,
        tags: [tag],
        digest: current.digest,
        digestOf: current.label
      }
    case 'digest': {
      const value = rng.pick(tags.flatMap(t => [...model.history(`${repo}:${t}`)]))
      return { kind: 'request', form, repo, tags: [], digest: value.digest, digestOf: value.label }
    }
    case 'platform':
      return {
        kind: 'request',
        form,
        repo,
        tags: [tag],
        platformWord: platformWord(rng, current.platforms)
      }
    case 'list': {
      const listed = rng.sample(tags, tags.length > 2 && rng.chance(0.5) ? 3 : 2)
      const step: RequestStep = { kind: 'request', form, repo, tags: listed }
      if (rng.chance(0.3)) step.platformWord = platformWord(rng, PLATFORMS)
      return step
    }
    default:
      return { kind: 'request', form: 'tag', repo, tags: [tag] }
  }
}

/** The issue's title (the image, DaoCloud's form) and body (the platform line, if any). */
export function issueText(step: RequestStep, host: string): { title: string; body: string } {
  const tags = step.tags.length ? `:${step.tags.join(',')}` : ''
  const digest = step.digest ? `@${step.digest}` : ''
  return { title: `${host}/${step.repo}${tags}${digest}`, body: step.platformWord ?? '' }
}

/** `repo:tag` keys a request names. */
export function namedKeys(step: Step): string[] {
  return step.kind === 'request' ? step.tags.map(t => `${step.repo}:${t}`) : []
}

// ---------------------------------------------------------------------------
// What the target holds

/** A target tag as read: its digest, and its children's digests when it is an index. */
export interface Observed {
  digest: string
  children?: readonly string[]
}

/** What an observed manifest is, in terms of one tag's history. */
export interface Held {
  value: UpstreamValue
  form: 'whole' | 'child' | 'subset'
  platforms: readonly string[]
}

/**
 * Which value of `history` the target holds (the latest that fits), or
 * undefined when it is none of them: invariant (a).
 */
export function locate(history: readonly UpstreamValue[], seen: Observed): Held | undefined {
  for (const value of [...history].reverse()) {
    if (seen.digest === value.digest) return { value, form: 'whole', platforms: value.platforms }
    const child = value.children.find(c => c.digest === seen.digest)
    if (child) return { value, form: 'child', platforms: [child.platform] }
    if (seen.children?.length) {
      const picked = seen.children.map(d => value.children.find(c => c.digest === d))
      if (picked.every(c => c !== undefined)) {
        return { value, form: 'subset', platforms: picked.map(c => c.platform) }
      }
    }
  }
  return undefined
}

export const short = (digest: string | undefined): string =>
  digest ? digest.replace(/^(sha256:[0-9a-f]{12})[0-9a-f]+$/, '$1') : '(none)'

/** `library/app:1.0#1 child linux/arm64 (sha256:…)`, or where else the content came from. */
export function describeHeld(
  model: UpstreamModel,
  key: string,
  seen: Observed | undefined
): string {
  if (!seen) return 'nothing'
  const held = locate(model.history(key), seen)
  const what = (h: Held) =>
    h.form === 'whole'
      ? `${h.value.label} whole [${h.platforms.join(',')}]`
      : `${h.value.label} ${h.form} [${h.platforms.join(',')}]`
  if (held) return `${what(held)} (${short(seen.digest)})`
  for (const k of new Set(model.all().map(v => v.key))) {
    const elsewhere = locate(model.history(k), seen)
    if (elsewhere) return `${what(elsewhere)} (${short(seen.digest)}), ANOTHER tag's content`
  }
  return `unknown content ${short(seen.digest)}`
}

// ---------------------------------------------------------------------------
// The action's answer

/** One entry of the action's `results` output, reduced to what the checks use. */
export interface ResultView {
  status: string
  repo: string
  tag?: string
  digest?: string
  reason?: string
}

/** Read the `results` output, keeping the results whose source is on `sourceHost`. */
export function resultViews(json: string | undefined, sourceHost: string): ResultView[] {
  const parsed = JSON.parse(json || '[]') as { status: string; source: string; reason?: string }[]
  return parsed
    .filter(r => r.source.startsWith(`${sourceHost}/`))
    .map(r => {
      const rest = r.source.slice(sourceHost.length + 1)
      const [name, digest] = rest.split('@') as [string, string | undefined]
      const colon = name.lastIndexOf(':')
      const view: ResultView = {
        status: r.status,
        repo: colon > name.lastIndexOf('/') && colon >= 0 ? name.slice(0, colon) : name
      }
      if (colon > name.lastIndexOf('/') && colon >= 0) view.tag = name.slice(colon + 1)
      if (digest) view.digest = digest
      if (r.reason !== undefined) view.reason = r.reason
      return view
    })
}

/**
 * Comment text as a reader sees it: HTML entities decoded, and the invisible joiners an
 * answer puts in links and mentions (so they stay text) taken out.
 */
export function readable(text: string): string {
  return text
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCodePoint(Number(n)))
    .replace(/&#x([0-9a-f]+);/gi, (_, n: string) => String.fromCodePoint(parseInt(n, 16)))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .replace(/[\u200b-\u200d\u2060\ufeff]/g, '')
}

/** How much of a reason the answer must quote (answers clip long reasons; the output has all). */
export const REASON_QUOTED = 200

// ---------------------------------------------------------------------------
// The checks

export interface StepObservation {
  step: Step
  /** Upstream after the step. */
  model: UpstreamModel
  /** Target tags read before and after the step: every tag any request named so far. */
  before: ReadonlyMap<string, Observed | undefined>
  after: ReadonlyMap<string, Observed | undefined>
  /** A request step's results (`resultViews`). */
  results?: readonly ResultView[]
  /** A request step's final answer on the issue (raw comment text). */
  answer?: string
  /** A request step for a digest alone: whether the target now has that digest. */
  digestInTarget?: boolean
  /** Every `repo:tag` the target lists after the step. */
  targetTags: readonly string[]
  /** Every `repo:tag` some request step named, this one included. */
  asked: ReadonlySet<string>
}

export interface Violation {
  invariant: string
  key: string
  message: string
}

const SERVED = new Set(['copied', 'unchanged'])

/** The invariants a step broke (empty when it kept the promise). */
export function checkStep(o: StepObservation): Violation[] {
  const out: Violation[] = []
  const fail = (invariant: string, key: string, message: string) =>
    out.push({ invariant, key, message })
  const named = new Set(namedKeys(o.step))

  for (const [key, seen] of o.after) {
    const history = o.model.history(key)
    const was = o.before.get(key)
    const now = seen ? locate(history, seen) : undefined
    const then = was ? locate(history, was) : undefined
    // Reported when the content arrives; holding on to it later is the same violation.
    if (seen && !now && seen.digest !== was?.digest) {
      fail(
        '(a) provenance',
        key,
        `the target holds ${describeHeld(o.model, key, seen)}, which ${key} never was upstream (its values: ${history.map(v => `${v.label} ${short(v.digest)}`).join(', ')})`
      )
    }
    if (was && !seen) {
      fail('(b) no downgrade', key, `held ${describeHeld(o.model, key, was)}, now nothing`)
    }
    if (now && then && now.value.position < then.value.position) {
      fail(
        '(b) no downgrade',
        key,
        `held ${describeHeld(o.model, key, was)}, now the older ${describeHeld(o.model, key, seen)}`
      )
    }
    if (now && then && now.value.position === then.value.position) {
      const lost = then.platforms.filter(p => !now.platforms.includes(p))
      if (lost.length > 0) {
        fail(
          '(d) no shrink',
          key,
          `held ${describeHeld(o.model, key, was)}, now ${describeHeld(o.model, key, seen)}: lost ${lost.join(', ')} while upstream is still ${now.value.label}`
        )
      }
    }
    if (now && then && now.value.position > then.value.position) {
      // Moving on to a newer upstream value keeps what the tag held, mapped onto the new value.
      const lost = then.platforms.filter(
        p => now.value.platforms.includes(p) && !now.platforms.includes(p)
      )
      if (lost.length > 0) {
        fail(
          '(d) no shrink',
          key,
          `held ${describeHeld(o.model, key, was)}, now ${describeHeld(o.model, key, seen)}: dropped ${lost.join(', ')}, which ${now.value.label} still offers`
        )
      }
    }
    if (!named.has(key) && was?.digest !== seen?.digest) {
      fail(
        '(f) only what was asked moves',
        key,
        `not named by this step, yet it went from ${describeHeld(o.model, key, was)} to ${describeHeld(o.model, key, seen)}`
      )
    }
  }

  for (const key of o.targetTags) {
    if (!o.asked.has(key))
      fail('(g) nothing unasked', key, `the target has ${key}, which no step asked for`)
  }

  if (o.step.kind === 'request') checkAnswer(o, o.step, fail)
  return out
}

function checkAnswer(
  o: StepObservation,
  step: RequestStep,
  fail: (invariant: string, key: string, message: string) => void
): void {
  const results = o.results ?? []
  const answer = readable(o.answer ?? '')
  const asked = step.platformWord ? platformOf(step.platformWord) : undefined

  if (step.tags.length === 0) {
    const key = `${step.repo}@${short(step.digest)}`
    const result = results.find(r => r.repo === step.repo && !r.tag && r.digest === step.digest)
    if (!result) return void fail('(s) service', key, 'no result for the digest asked for')
    if (!SERVED.has(result.status)) {
      fail('(s) service', key, `a digest upstream has was ${result.status}: ${result.reason ?? ''}`)
    } else if (!o.digestInTarget) {
      fail(
        '(c) served means current',
        key,
        `answered ${result.status}, but the target has no ${short(step.digest)}`
      )
    }
    return
  }

  for (const tag of step.tags) {
    const key = `${step.repo}:${tag}`
    const current = o.model.current(key) as UpstreamValue
    const result = results.find(r => r.repo === step.repo && r.tag === tag)
    if (!result) {
      fail('(s) service', key, 'no result for this tag')
      continue
    }
    const was = o.before.get(key)
    const seen = o.after.get(key)
    const stale = step.digest !== undefined && step.digest !== current.digest
    const offered = !asked || current.platforms.includes(asked)
    // Rule 3: a request the tag already satisfies (the current value, with the platform asked;
    // the whole of it when none is) is `unchanged`, and the tag keeps its digest.
    const before = was ? locate(o.model.history(key), was) : undefined
    const satisfied =
      !stale &&
      before?.value.position === current.position &&
      (asked
        ? current.platforms.includes(asked) && before.platforms.includes(asked)
        : before.form === 'whole')
    if (satisfied && (result.status !== 'unchanged' || seen?.digest !== was?.digest)) {
      fail(
        '(c) served means current',
        key,
        `the target already held ${describeHeld(o.model, key, was)}, which satisfies this request; expected unchanged, got ${result.status} and ${describeHeld(o.model, key, seen)}`
      )
    }

    if (SERVED.has(result.status)) {
      const held = seen ? locate(o.model.history(key), seen) : undefined
      const wanted = asked ? [asked].filter(p => current.platforms.includes(p)) : current.platforms
      if (!held || held.value.position !== current.position) {
        fail(
          '(c) served means current',
          key,
          `answered ${result.status}; expected the current ${current.label} (${short(current.digest)}), the target holds ${describeHeld(o.model, key, seen)}`
        )
      } else if (!asked && held.form !== 'whole') {
        fail(
          '(c) served means current',
          key,
          `no platform chosen, so the whole ${current.label} (${short(current.digest)}) is due; the target holds ${describeHeld(o.model, key, seen)}`
        )
      } else if (wanted.some(p => !held.platforms.includes(p))) {
        fail(
          '(c) served means current',
          key,
          `asked for ${wanted.join(', ')}; the target holds ${describeHeld(o.model, key, seen)}`
        )
      } else if (!was && asked && current.children.length > 0) {
        const child = current.children.find(c => c.platform === asked)
        if (child && seen?.digest !== child.digest) {
          fail(
            '(c) served means current',
            key,
            `a tag never mirrored, asked for ${asked}: expected ${current.label}'s ${asked} image ${short(child.digest)}, the target holds ${describeHeld(o.model, key, seen)}`
          )
        }
      }
    }

    if (stale && result.status !== 'rejected') {
      fail(
        '(e) refusals',
        key,
        `${key}@${short(step.digest)} (${step.digestOf}) names a digest the tag does not point at (it is ${current.label} ${short(current.digest)}), yet it was ${result.status}`
      )
    }
    if (result.status === 'rejected') {
      if (was?.digest !== seen?.digest) {
        fail(
          '(e) refusals',
          key,
          `rejected, yet the target went from ${describeHeld(o.model, key, was)} to ${describeHeld(o.model, key, seen)}`
        )
      }
      const reason = (result.reason ?? '').trim()
      if (!reason) fail('(e) refusals', key, 'rejected without a reason')
      else if (!answer.includes(readable(reason).slice(0, REASON_QUOTED))) {
        fail('(e) refusals', key, `the answer on the issue does not give the reason "${reason}"`)
      }
      if (stale) {
        for (const d of [step.digest as string, current.digest]) {
          const hex = d.slice('sha256:'.length, 'sha256:'.length + 12)
          if (!answer.includes(hex)) {
            fail(
              '(e) refusals',
              key,
              `the answer does not name ${short(d)} (asked: ${short(step.digest)}, current: ${short(current.digest)})`
            )
          }
        }
      }
    }
    if (!stale && offered && !SERVED.has(result.status)) {
      fail(
        '(s) service',
        key,
        `upstream can serve this (${current.label} offers ${current.platforms.join(', ')}), yet it was ${result.status}: ${result.reason ?? ''}`
      )
    }
  }
}

// ---------------------------------------------------------------------------
// The step list printed on failure

/** One line for the step list; `outcome` is what happened (results, pushed value). */
export function describeStep(index: number, step: Step, outcome: string): string {
  if (step.kind === 'push') {
    const what = step.platforms
      ? `index [${step.platforms.join(',')}]`
      : `single ${SINGLE_PLATFORM}`
    return `#${index} upstream: push ${step.repo}:${step.tag}${step.retag ? ' (retag)' : ' (new tag)'} ${what} → ${outcome}`
  }
  const tags = step.tags.length ? `:${step.tags.join(',')}` : ''
  const digest = step.digest ? `@${short(step.digest)} (= ${step.digestOf})` : ''
  const platform = step.platformWord ? ` body "${step.platformWord}"` : ''
  return `#${index} issue [${step.form}] ${step.repo}${tags}${digest}${platform} → ${outcome}`
}

/** The failure message: seed, how to replay, the broken invariants by step, and the steps so far. */
export function failureReport(options: {
  seed: number
  engine: string
  failures: readonly { index: number; violations: readonly Violation[] }[]
  steps: readonly string[]
  replay: string
}): string {
  return [
    `Integrity broken (engine ${options.engine}, seed ${options.seed}):`,
    ...options.failures.flatMap(f => [
      `at step #${f.index}:`,
      ...f.violations.map(v => `  ${v.invariant} — ${v.key}: ${v.message}`)
    ]),
    '',
    `Replay: ${options.replay}`,
    'Steps:',
    ...options.steps.map(s => `  ${s}`)
  ].join('\n')
}
