/**
 * Issue requests: read the triggering issue from the event payload (never
 * from workflow expressions) and turn its title and body into image requests
 * and platforms. Everything here is untrusted text from strangers: it is
 * bounded, parsed, and never executed or interpolated.
 */
import * as fs from 'node:fs'
import { parseEntry, policyStart, type EntryOrigin, type ImageRequest } from '../image/entries.js'
import { looksLikePolicy } from '../image/tag-policy.js'

export interface IssueEvent {
  action: string
  number: number
  title: string
  body: string
  /** Label names on the issue when the event fired. */
  labels: string[]
  state: string
  author: string
}

export interface IssueRequest {
  requests: ImageRequest[]
  /** Platforms the body selects; undefined when it names none. */
  platforms?: 'all' | string[]
  /** Corrections made to what was written, said back to the author. */
  notes: string[]
  /** Lines of prose that were not read as images (shown, so nothing is dropped silently). */
  ignored: number
  /** Why the request as a whole cannot be served (too big, nothing found); nothing is copied. */
  problem?: string
}

export interface IssueLimits {
  maxImages: number
  /** Bytes of title + body read at most; beyond it the request is refused, not truncated. */
  maxBytes?: number
}

export const DEFAULT_MAX_BYTES = 64 * 1024

/** The issue of an `issues` event, or an Error saying what is missing. */
export function readIssueEvent(
  eventName: string | undefined,
  eventPath: string | undefined
): IssueEvent {
  if (eventName && eventName !== 'issues') {
    throw new Error(
      `from-issue: true needs an "issues" event (on: issues: [opened, edited]); this run was triggered by "${eventName}"`
    )
  }
  if (!eventPath) throw new Error('from-issue: true needs GITHUB_EVENT_PATH, which the runner sets')
  let payload: {
    action?: string
    issue?: {
      number?: number
      title?: string | null
      body?: string | null
      labels?: ({ name?: string } | string)[]
      state?: string
      user?: { login?: string }
    }
  }
  try {
    payload = JSON.parse(fs.readFileSync(eventPath, 'utf8')) as typeof payload
  } catch (error) {
    throw new Error(`from-issue: the event payload ${eventPath} cannot be read`, { cause: error })
  }
  const issue = payload.issue
  if (!issue || typeof issue.number !== 'number') {
    throw new Error('from-issue: the event payload has no issue; run it on: issues events')
  }
  return {
    action: payload.action ?? '',
    number: issue.number,
    title: String(issue.title ?? ''),
    body: String(issue.body ?? ''),
    labels: (issue.labels ?? []).map(l => (typeof l === 'string' ? l : String(l.name ?? ''))),
    state: issue.state ?? 'open',
    author: issue.user?.login ?? ''
  }
}

/** Words people use for platforms, as os/arch[/variant]. */
const PLATFORM_WORDS: Record<string, string> = {
  amd64: 'linux/amd64',
  x86_64: 'linux/amd64',
  'x86-64': 'linux/amd64',
  arm64: 'linux/arm64',
  aarch64: 'linux/arm64',
  'arm64/v8': 'linux/arm64/v8',
  armv7: 'linux/arm/v7',
  armhf: 'linux/arm/v7',
  'arm/v7': 'linux/arm/v7',
  armv6: 'linux/arm/v6',
  'arm/v6': 'linux/arm/v6',
  '386': 'linux/386',
  i386: 'linux/386',
  ppc64le: 'linux/ppc64le',
  s390x: 'linux/s390x',
  riscv64: 'linux/riscv64'
}
const OS_ARCH = /^(linux|windows|darwin|freebsd)\/[a-z0-9_]+(\/v\d+)?$/

/** `arm64` → `linux/arm64`; `linux/arm/v7` as is; `all`; undefined when not a platform. */
export function platformWord(word: string): string | undefined {
  const w = word.toLowerCase().replace(/^--platform=?/, '')
  if (w === 'all') return 'all'
  if (PLATFORM_WORDS[w]) return PLATFORM_WORDS[w]
  return OS_ARCH.test(w) ? w : undefined
}

/** A line made only of platform words (`linux/arm64`, `amd64, arm64`), as platforms. */
function platformLine(line: string): string[] | undefined {
  const words = line.split(/[\s,]+/).filter(Boolean)
  if (words.length === 0) return undefined
  const platforms = words.map(platformWord)
  return platforms.every((p): p is string => p !== undefined) ? platforms : undefined
}

const PULL = /^(?:sudo\s+)?(?:docker|podman|nerdctl)\s+(?:image\s+)?pull\s+(.*)$/i

interface Candidate {
  text: string
  platforms: string[]
  note?: string
}

/**
 * Quotes taken off both ends. By index, not by /[`'"]+$/: that regex retried at every quote of
 * a long run is quadratic in a stranger's line.
 */
function unquoted(text: string): string {
  const quote = (ch: string | undefined) => ch === '`' || ch === "'" || ch === '"'
  let start = 0
  let end = text.length
  while (start < end && quote(text[start])) start++
  while (end > start && quote(text[end - 1])) end--
  return text.slice(start, end)
}

/**
 * One line as an image candidate: a bare reference, or a pasted pull command
 * (its `--platform` kept), with quotes and list bullets taken off.
 */
export function candidate(line: string): Candidate | undefined {
  const text = unquoted(line.trim().replace(/^(?:[-*+]|\d+[.)])\s+/, '')).trim()
  if (!text) return undefined
  const pull = PULL.exec(text)
  if (pull) {
    const words = (pull[1] as string).split(/\s+/).filter(Boolean)
    const platforms: string[] = []
    const rest: string[] = []
    for (let i = 0; i < words.length; i++) {
      const word = words[i] as string
      if (word === '--platform' && words[i + 1]) {
        platforms.push(words[++i] as string)
      } else if (word.startsWith('--platform=')) {
        platforms.push(word.slice('--platform='.length))
      } else if (word === '-q' || word === '--quiet') {
        continue
      } else {
        rest.push(word)
      }
    }
    if (rest.length !== 1) return { text, platforms: [] }
    const image = unquoted(rest[0] as string)
    return {
      text: image,
      platforms,
      note: `read the command "${text}" as the image ${image}${platforms.length ? ` for ${platforms.join(', ')}` : ''}`
    }
  }
  if (!/\s/.test(text)) return { text, platforms: [] }
  // A tag policy with spaces (`nginx:semver(>=1.26 <2)`) is read, to be refused with a reason,
  // rather than passed over as prose: a policy opening after a name (with a port, perhaps).
  const name = /^[^\s:]+(:\d+\/[^\s:]+)?:/.exec(text)
  return name && looksLikePolicy(text.slice(name[0].length)) ? { text, platforms: [] } : undefined
}

/** How many images a candidate names: one, or one per tag of a `repo:a,b,c` list. */
function tagCount(text: string): number {
  let commas = 0
  for (let i = text.indexOf(','); i >= 0; i = text.indexOf(',', i + 1)) commas++
  return commas + 1
}

/** Issue-form and Markdown furniture that is neither an image nor prose. */
const FURNITURE = /^(?:#{1,6}\s|_no response_$|- \[[ x]\]|<!--|-->|>|---+$|\*\*[^*]+\*\*:?$)/i

/** A candidate and where it was written, for messages. */
interface Found {
  candidate: Candidate
  source: string
  line: number
}

/** What the title says: platforms (undefined when it is not a platform line) or an image candidate. */
interface Title {
  text: string
  platforms: string[] | undefined
  candidate: Candidate | undefined
}

/** Read the request: the title (DaoCloud's form), `SYNC` lines, or a list in the body. */
export function parseIssue(
  issue: Pick<IssueEvent, 'title' | 'body'>,
  limits: IssueLimits
): IssueRequest {
  const result: IssueRequest = { requests: [], notes: [], ignored: 0 }
  const tooBig = sizeProblem(issue, limits.maxBytes ?? DEFAULT_MAX_BYTES)
  if (tooBig) {
    result.problem = tooBig
    return result
  }

  const title = readTitle(issue.title)
  const body = readBody(issue.body)
  result.ignored = body.ignored
  const platforms = [...(title.platforms ?? []), ...body.platforms]
  const found = withTitle(title.candidate, body.found)
  const problem = foundProblem(found, title, limits.maxImages)
  if (problem) {
    result.problem = problem
    return result
  }
  for (const { candidate: c, source, line } of found) {
    platforms.push(...c.platforms)
    if (c.note) result.notes.push(c.note)
    // A policy is refused before it is read: its range or regex is a stranger's to make slow.
    const at = policyStart(c.text)
    if (at > 0) result.requests.push(refusePolicy(c.text, at, { source, line }))
    else result.requests.push(...parseEntry(c.text, { source, line }))
  }

  const chosen = choosePlatforms(platforms)
  if (chosen.problem) result.problem = chosen.problem
  else if (chosen.platforms) result.platforms = chosen.platforms
  return result
}

/** Untrusted text is bounded before it is read: beyond `maxBytes` the request is refused. */
function sizeProblem(
  issue: Pick<IssueEvent, 'title' | 'body'>,
  maxBytes: number
): string | undefined {
  const size = Buffer.byteLength(issue.title, 'utf8') + Buffer.byteLength(issue.body, 'utf8')
  if (size > maxBytes) {
    return `the issue is ${size} bytes long; at most ${maxBytes} are read. Ask for fewer images per issue, one reference a line.`
  }
  return undefined
}

/** The title is the image in DaoCloud's form, unless it is their old fixed title or a platform. */
function readTitle(raw: string): Title {
  const text = raw.trim()
  const oldForm = /^sync[\s_-]*image$/i.test(text)
  // "arm64" or "linux/arm64:latest" as a title: a platform, a common slip in DaoCloud's form.
  const platforms = platformLine(text) ?? platformLine(text.replace(/:[\w.-]*$/, ''))
  const image = !platforms && !oldForm && text ? candidate(text) : undefined
  return { text, platforms, candidate: image }
}

/**
 * The body's lines as image candidates and platform lines (`SYNC` prefixes taken
 * off); form furniture is skipped, and prose is counted so nothing is dropped silently.
 */
function readBody(body: string): { found: Found[]; platforms: string[]; ignored: number } {
  const found: Found[] = []
  const platforms: string[] = []
  let ignored = 0
  let fenced = false
  body.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim()
    if (/^(```|~~~)/.test(line)) {
      fenced = !fenced
      return
    }
    if (!line || (!fenced && FURNITURE.test(line))) return
    const sync = /^sync\s+(\S.*)$/i.exec(line)
    const text = sync ? (sync[1] as string) : line
    const asPlatforms = platformLine(text)
    if (asPlatforms) {
      platforms.push(...asPlatforms)
      return
    }
    const c = candidate(text)
    if (c) found.push({ candidate: c, source: 'issue body', line: index + 1 })
    else ignored++
  })
  return { found, platforms, ignored }
}

/** The title is the image (DaoCloud's form); a bare word ("list", "help") only when the body names none. */
function withTitle(title: Candidate | undefined, found: Found[]): Found[] {
  if (title && (/[./:@]/.test(title.text) || found.length === 0)) {
    found.unshift({ candidate: title, source: 'issue title', line: 1 })
  }
  return found
}

/** Why nothing is served: no image found, or more images than one issue may ask for. */
function foundProblem(
  found: readonly Found[],
  title: Title,
  maxImages: number
): string | undefined {
  if (found.length === 0 && title.platforms) {
    return `the title "${title.text}" is a platform, not an image. Write the image as the title (for example docker.io/library/nginx:1.27) and pick the platform in the form.`
  }
  if (found.length === 0) {
    return 'no image was found in this issue. Write the image as the title (for example docker.io/library/nginx:1.27), or list images in the body, one reference a line.'
  }
  // Images, not lines: every tag of a tag list counts, and the count is taken before any
  // list is expanded, so a 64 KiB title of commas costs nothing.
  const asked = found.reduce((n, f) => n + tagCount(f.candidate.text), 0)
  if (asked > maxImages) {
    const lists = found.some(f => tagCount(f.candidate.text) > 1)
      ? ' (each tag of a list counts)'
      : ''
    return `this issue asks for ${asked} images${lists}; at most ${maxImages} are served per issue. Split the request into several issues.`
  }
  return undefined
}

/**
 * An issue names tags, never a rule for choosing them: a stranger's policy could expand into
 * every tag a registry lists (and a regex or range is theirs to make backtrack), so it is
 * refused unread, malformed or not.
 */
function refusePolicy(text: string, at: number, origin: EntryOrigin): ImageRequest {
  const policy = text.slice(at + 1).trim()
  const regexOnly = policy.startsWith('/') && !/\/\s/.test(policy)
  const shown = policy.length > 80 ? `${policy.slice(0, 80)}…` : policy
  return {
    kind: 'invalid',
    request: text,
    origin,
    reason: regexOnly
      ? 'tag filters (/regex/) are not accepted from issues; name the tags, e.g. repo:1.27,1.26'
      : `tag policies (${shown}) are not accepted from issues, so that one issue asks for a known number of images; name the tags, e.g. repo:1.27,1.26`
  }
}

/**
 * The platforms asked for, as os/arch[/variant] once each (`all` wins), or why
 * one of them is not a platform; nothing when none was asked for.
 */
function choosePlatforms(words: readonly string[]): {
  platforms?: 'all' | string[]
  problem?: string
} {
  const chosen = [...new Set(words.map(p => platformWord(p) ?? p))]
  if (chosen.includes('all')) return { platforms: 'all' }
  if (chosen.length === 0) return {}
  const bad = chosen.find(p => !OS_ARCH.test(p))
  if (bad) {
    return {
      problem: `"${bad}" is not a platform; use os/arch[/variant] such as linux/arm64 or linux/arm/v7.`
    }
  }
  return { platforms: chosen }
}
