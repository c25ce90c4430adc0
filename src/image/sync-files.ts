/**
 * Sync files people already have, as `images-file` (issue 20): a `.yaml`/`.yml` file is
 * `skopeo sync`'s (registries as top-level keys) or regsync's (a `sync:` list). Each is read
 * into the same requests an entry list gives, its tag rules into tag policies that select
 * what the tool selects (`loose`: versions read as Go's Masterminds/semver reads them for
 * skopeo; `regsync`: versions and ranges read by regsync's own rules, its regexes anchored as
 * regsync anchors them). What the action does not take from a file
 * (credentials, TLS and certificate settings, targets, schedules, hooks) is a rejected line
 * naming what to use instead, never silently dropped.
 */
import {
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Node,
  type Pair
} from 'yaml'
import { parseEntry, type EntryOrigin, type ImageRequest } from './entries.js'
import { readRegsyncRange } from './regsync-semver.js'

/** Sync files are small; a bigger one is refused rather than parsed. */
export const MAX_SYNC_FILE_BYTES = 1024 * 1024
const MAX_ENTRIES = 10_000

export function isSyncFile(path: string): boolean {
  return /\.ya?ml$/i.test(path)
}

interface Reader {
  source: string
  requests: ImageRequest[]
  lineOf(node: Node | Pair | null | undefined): number
  /** A request from entry text, at the node's line. */
  entry(text: string, at: Node | Pair | null | undefined): void
  /** A rejected line saying why and what to do instead. */
  refuse(at: Node | Pair | null | undefined, text: string, reason: string): void
}

/** Read a sync file into requests, in file order. */
export function parseSyncFile(text: string, source: string): ImageRequest[] {
  const lines = new LineCounter()
  // `merge`: regsync's own examples share settings through `<<: *anchor`.
  // failsafe: every value is the text written, as skopeo and regsync read them into strings
  // (`7.10` stays `7.10`, never the number 7.1).
  const doc = parseDocument(text, {
    lineCounter: lines,
    uniqueKeys: true,
    merge: true,
    schema: 'failsafe'
  })
  const reader: Reader = {
    source,
    requests: [],
    lineOf: at => {
      // A pair is where its key is; a node where it starts.
      const node = isPair(at) ? (at.key as Node | null) : at
      const start = node?.range?.[0]
      return start === undefined ? 1 : lines.linePos(start).line
    },
    entry(text, at) {
      if (this.requests.length === MAX_ENTRIES) {
        this.refuse(
          at,
          text,
          `the file asks for more than ${MAX_ENTRIES} entries; this one and the rest are left out: split the file`
        )
      }
      if (this.requests.length >= MAX_ENTRIES) return
      this.requests.push(...parseEntry(text, { source, line: this.lineOf(at) }))
    },
    refuse(at, text, reason) {
      const origin: EntryOrigin = { source, line: this.lineOf(at) }
      this.requests.push({ kind: 'invalid', request: text, origin, reason, setting: true })
    }
  }
  if (text.length > MAX_SYNC_FILE_BYTES) {
    reader.refuse(
      null,
      source,
      `the sync file is larger than ${MAX_SYNC_FILE_BYTES} bytes; split it`
    )
    return reader.requests
  }
  if (doc.errors.length > 0) {
    const error = doc.errors[0]!
    const line = error.linePos?.[0]?.line ?? 1
    reader.requests.push({
      kind: 'invalid',
      request: source,
      origin: { source, line },
      reason: `not a YAML file the action can read: ${error.message.split('\n')[0]}`
    })
    return reader.requests
  }
  const root = doc.contents
  if (!isMap(root)) {
    reader.refuse(
      root,
      source,
      "a sync file is a YAML mapping: skopeo sync's (registries as keys) or regsync's (version, sync)"
    )
    return reader.requests
  }
  const keys = root.items.map(pair => scalarText(pair.key))
  if (keys.includes('sync')) {
    let data: unknown
    try {
      // Aliases bounded: a YAML "billion laughs" is refused, not expanded.
      data = doc.toJS({ maxAliasCount: 100 })
    } catch (error) {
      reader.refuse(
        root,
        source,
        `not a YAML file the action can read: ${(error as Error).message}`
      )
      return reader.requests
    }
    readRegsync(root.items, (data as { sync?: unknown }).sync, reader)
  } else {
    readSkopeo(root.items, reader)
  }
  return reader.requests
}

const scalarText = (node: unknown): string =>
  isScalar(node) && node.value !== null && node.value !== undefined ? String(node.value) : ''

/** A short YAML-ish rendering of `key: value` for messages. */
function shown(pair: Pair): string {
  const key = scalarText(pair.key)
  const value = isScalar(pair.value) ? ` ${String(pair.value.value).slice(0, 60)}` : ''
  return `${key}:${value}`
}

// ---------------------------------------------------------------------------------------
// skopeo sync (`--src yaml`): registry → {images, images-by-tag-regex, images-by-semver, ...}

function readSkopeo(registries: Pair[], reader: Reader): void {
  for (const registryPair of registries) {
    const registry = scalarText(registryPair.key)
    const settings = registryPair.value
    if (!isMap(settings)) {
      reader.refuse(
        registryPair,
        registry,
        `"${registry}" should map to images, images-by-tag-regex or images-by-semver`
      )
      continue
    }
    for (const pair of settings.items as Pair[]) {
      const key = scalarText(pair.key)
      const value = pair.value as Node | null
      switch (key) {
        case 'images':
          readSkopeoImages(registry, value, reader)
          break
        case 'images-by-tag-regex':
          forEachRepository(value, reader, key, (repository, regex, at) => {
            const pattern = scalarText(regex)
            // skopeo matches anywhere in the tag (Go's MatchString), as a /regex/ does.
            reader.entry(`${registry}/${repository}:/${pattern}/`, at)
          })
          break
        case 'images-by-semver':
          forEachRepository(value, reader, key, (repository, range, at) => {
            const text = scalarText(range)
            // Masterminds never reads a ")"; here it would end the range and start clauses.
            if (text.includes(')')) {
              reader.refuse(
                at,
                `${registry}/${repository} images-by-semver ${clip(text)}`,
                'skopeo refuses a range holding ")" (improper constraint); the repository is left out'
              )
              return
            }
            // As written: the loose reading is Masterminds/semver's, commas ("and") included.
            reader.entry(`${registry}/${repository}:semver(${text}) loose`, at)
          })
          break
        case 'tls-verify':
          if (scalarText(value) === 'false') {
            reader.refuse(
              pair,
              `${registry} ${shown(pair)}`,
              `tls-verify is not read from the file: list ${registry} in the insecure-registries input to speak plain HTTP to it`
            )
          }
          break
        case 'credentials':
          reader.refuse(
            pair,
            `${registry} credentials`,
            `credentials are refused in a sync file (a secret in the repository): give them to the action as a docker config or its username and password inputs, and remove them from the file`
          )
          break
        case 'cert-dir':
          reader.refuse(
            pair,
            `${registry} ${shown(pair)}`,
            `cert-dir is not read from the file: add the registry's CA to the runner's trust store`
          )
          break
        default:
          reader.refuse(
            pair,
            `${registry} ${shown(pair)}`,
            `"${key}" is not a skopeo sync setting the action reads (images, images-by-tag-regex, images-by-semver, tls-verify)`
          )
      }
    }
  }
}

function readSkopeoImages(registry: string, value: Node | null, reader: Reader): void {
  if (!isMap(value)) {
    reader.refuse(value, `${registry} images`, 'images should map repositories to lists of tags')
    return
  }
  for (const pair of value.items as Pair[]) {
    const repository = scalarText(pair.key)
    const tags = pair.value
    // An empty list (or none): every tag, as skopeo reads it.
    if (tags === null || tags === undefined || (isSeq(tags) && tags.items.length === 0)) {
      reader.entry(`${registry}/${repository}:/.*/`, pair)
      continue
    }
    if (!isSeq(tags)) {
      reader.refuse(
        pair,
        `${registry}/${repository}`,
        'list the tags of a repository as a YAML list ([] for all of them)'
      )
      continue
    }
    for (const tag of tags.items) {
      const text = scalarText(tag)
      const separator = /^sha(256|512):/.test(text) ? '@' : ':'
      reader.entry(`${registry}/${repository}${separator}${text}`, tag as Node)
    }
  }
}

function forEachRepository(
  value: Node | null,
  reader: Reader,
  key: string,
  each: (repository: string, value: unknown, at: Node | Pair) => void
): void {
  if (!isMap(value)) {
    reader.refuse(value, key, `${key} should map repositories to one value each`)
    return
  }
  for (const pair of value.items as Pair[]) each(scalarText(pair.key), pair.value, pair)
}

// ---------------------------------------------------------------------------------------
// regsync: version, creds, defaults, sync: [{source, target, type, tags: {allow, deny,
// semverRange}, platform, ...}]

function readRegsync(items: Pair[], entries: unknown, reader: Reader): void {
  for (const pair of items) {
    const key = scalarText(pair.key)
    if (key === 'version' || key.startsWith('x-')) continue // the format's version; YAML anchors
    if (key === 'sync') {
      if (!isSeq(pair.value) || !Array.isArray(entries)) {
        reader.refuse(pair, 'sync', 'sync is a list of entries with source and type')
        continue
      }
      pair.value.items.forEach((item, i) => readRegsyncEntry(item as Node, entries[i], reader))
    } else if (key === 'creds') {
      reader.refuse(
        pair,
        'creds',
        'creds are refused in a sync file: give credentials to the action as a docker config or its username and password inputs, and registries without TLS in insecure-registries'
      )
    } else if (key === 'defaults') {
      readRegsyncDefaults(pair.value as Node | null, reader)
    } else {
      reader.refuse(
        pair,
        shown(pair),
        `"${key}" is not a regsync setting the action reads (version, sync)`
      )
    }
  }
}

/** What to use instead of a regsync setting, as the rest of "… is not read from the file: ". */
const DEFAULTS_INSTEAD: Record<string, string> = {
  parallel: 'use the concurrency input',
  ratelimit: 'use the pull-reserve input (the action reads the pull budget from the registry)',
  interval: "use the workflow's schedule",
  schedule: "use the workflow's schedule",
  backup: 'the action never moves a tag aside to keep an old image',
  mediaTypes: 'every image and index media type is copied',
  hooks: 'use steps in the workflow, before or after the action',
  referrers: 'use the referrers input (on by default)',
  digestTags: "use the referrers input (cosign's .sig/.att/.sbom tags travel with it)",
  fastCopy: 'unchanged images are found by a HEAD, without a pull',
  forceRecursive: 'indexes are always copied whole (or by the platforms input)',
  includeExternal: 'foreign layers are not fetched'
}
const instead = (key: string) => DEFAULTS_INSTEAD[key] ?? 'the action has no such setting'

function readRegsyncDefaults(value: Node | null, reader: Reader): void {
  if (!isMap(value)) return
  for (const pair of value.items as Pair[]) {
    const key = scalarText(pair.key)
    reader.refuse(
      pair,
      `defaults ${shown(pair)}`,
      `defaults.${key} is not read from the file: ${instead(key)}`
    )
  }
}

/**
 * One `sync:` entry: `entry` is it as data (merge keys resolved), `item` its node, for lines:
 * a key written in the entry is named at its line, one merged from an anchor at the entry's.
 */
function readRegsyncEntry(item: Node, entry: unknown, reader: Reader): void {
  if (!isMap(item) || typeof entry !== 'object' || entry === null) {
    reader.refuse(item, 'sync entry', 'a sync entry is a mapping with source and type')
    return
  }
  const data = entry as Record<string, unknown>
  const at = (name: string) => (item.items as Pair[]).find(p => scalarText(p.key) === name) ?? item
  const text = (value: unknown) =>
    typeof value === 'string' || typeof value === 'number' ? String(value) : ''
  const source = text(data.source)
  const type = text(data.type)
  if (!source) {
    reader.refuse(item, 'sync entry', 'a sync entry needs a source')
    return
  }
  if (!type) {
    reader.refuse(
      item,
      source,
      'a sync entry needs its type (image or repository), as regsync does'
    )
    return
  }
  for (const [key, value] of Object.entries(data)) {
    if (['source', 'type', 'tags'].includes(key)) continue
    const written = `${source} ${key}: ${text(value).slice(0, 60)}`.trim()
    if (key === 'target') {
      reader.refuse(
        at(key),
        written,
        "target is not read from the file: the mirrored name comes from the action's target and rewrite inputs (one source, one name); the image is mirrored there"
      )
    } else if (key === 'platform' || key === 'platforms') {
      reader.refuse(
        at(key),
        written,
        `${key} is not read per entry: use the action's platforms input; the image is mirrored with all its platforms`
      )
    } else {
      reader.refuse(at(key), written, `${key} is not read from the file: ${instead(key)}`)
    }
  }
  if (type === 'image') {
    reader.entry(source, at('source'))
    return
  }
  if (type !== 'repository') {
    reader.refuse(at('type'), `${source} type: ${type}`, 'type is image or repository')
    return
  }
  if (
    data.tags !== undefined &&
    (typeof data.tags !== 'object' || data.tags === null || Array.isArray(data.tags))
  ) {
    reader.refuse(
      at('tags'),
      `${source} tags`,
      'tags is a mapping of allow and deny (lists of regexes) and semverRange; the entry is left out'
    )
    return
  }
  const tags = (data.tags ?? {}) as Record<string, unknown>
  for (const key of Object.keys(tags)) {
    if (!['allow', 'deny', 'semverRange'].includes(key)) {
      reader.refuse(
        at('tags'),
        `${source} tags.${key}`,
        `tags.${key} is not read (allow, deny and semverRange are)`
      )
    }
  }
  // A list of strings, or a refusal: regsync refuses anything else, and an entry read as
  // "every tag" for want of its list would mirror what its author never asked for.
  const list = (name: string): string[] | undefined => {
    const value = tags[name]
    if (value === undefined) return []
    // regsync skips an empty range; an empty regex would be read as a tag named "".
    const empty = name === 'semverRange' ? 0 : 1
    if (Array.isArray(value) && value.every(v => typeof v === 'string' && v.length >= empty)) {
      return value as string[]
    }
    reader.refuse(
      at('tags'),
      `${source} tags.${name}`,
      `tags.${name} is a list of strings (one regex or range an item); the entry is left out`
    )
    return undefined
  }
  const allow = list('allow')
  const deny = list('deny')
  const ranges = list('semverRange')
  if (!allow || !deny || !ranges) return
  // regsync ORs the items of semverRange and reads them by its own version rules: the
  // `regsync` reading (regsync-semver.ts), items joined by `||`. Only an empty item is
  // skipped, as regsync skips it; one of white space fails its entry there, and is refused.
  const items = ranges.filter(r => r !== '')
  for (const item of items) {
    const range = readRegsyncRange(item)
    if (!range.ok || item.includes(')')) {
      reader.refuse(
        at('tags'),
        `${source} tags.semverRange ${clip(item)}`,
        range.ok
          ? 'a ")" ends a policy\'s range, so the action refuses a range holding one; the entry is left out'
          : `regsync refuses this range (${range.reason}); the entry is left out`
      )
      return
    }
  }
  const semverClause = items.length > 0 ? [`semver(${items.join(' || ')}) regsync`] : []
  // regsync anchors each pattern as "^" + pattern + "$" (its own text, alternation and all):
  // one policy per allowed pattern, each with every deny (a tag two select is copied once).
  const exclusions = deny.map(d => `exclude(/(?:^${d}$)/)`)
  for (const pattern of allow.length > 0 ? allow : [undefined]) {
    const regex =
      pattern !== undefined ? [`/(?:^${pattern}$)/`] : semverClause.length > 0 ? [] : ['/.*/']
    reader.entry(`${source}:${[...regex, ...semverClause, ...exclusions].join(' ')}`, at('source'))
  }
}

/** A value of the file as shown in a refusal: the file is the user's, but its lines are long. */
function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}…` : text
}
