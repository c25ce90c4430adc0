/**
 * Image references: parse, validate and normalise them the way the
 * distribution/reference grammar (and so docker) does, with messages that
 * name the bad part and, where one exists, a corrected form.
 */

export interface ImageReference {
  /** Normalised registry host, lower case, with port if any; `docker.io` for Docker Hub. */
  registry: string
  /** Repository path below the registry, e.g. `library/nginx`. */
  repository: string
  tag?: string
  digest?: string
}

export type ParseResult =
  | { ok: true; ref: ImageReference; note?: string }
  | { ok: false; reason: string; suggestion?: string }

export const DOCKER_HUB = 'docker.io'
/** Longest `registry/repository` accepted; registries and clients cap the name at 255. */
export const MAX_NAME_LENGTH = 255
export const MAX_TAG_LENGTH = 128
/** Anything longer cannot be a reference (name + tag + sha512 digest); refuse before any work. */
export const MAX_INPUT_LENGTH = 600

const DOCKER_HUB_ALIASES = new Set([
  'docker.io',
  'index.docker.io',
  'registry-1.docker.io',
  'registry.hub.docker.com'
])

/** Whether a host (without a port) is one of Docker Hub's names. */
export function isDockerHubHost(host: string): boolean {
  return DOCKER_HUB_ALIASES.has(host)
}

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/
const DOMAIN_LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/
const TAG = /^\w[\w.-]{0,127}$/
const DIGEST_ALGORITHMS: Record<string, number> = { sha256: 64, sha512: 128 }
/** A local image ID: 64 hex digits, the form distribution/reference refuses as a name. */
const IMAGE_ID = /^[0-9a-f]{64}$/i
/** A digest's hex part: distribution/reference wants at least 32 digits (128 bits). */
const DIGEST_HEX = /^[0-9a-f]{32,}$/i
/** One decimal part of a dotted IPv4 address, 0-255, without leading zeros. */
const IPV4_PART = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])'
const IPV4 = new RegExp(`^${IPV4_PART}(?:\\.${IPV4_PART}){3}$`)

/** `registry/repository`, the name every pattern and template works on. */
export function repositoryName(ref: Pick<ImageReference, 'registry' | 'repository'>): string {
  return `${ref.registry}/${ref.repository}`
}

/** The normal form: `registry/repository[:tag][@digest]`. */
export function formatReference(ref: ImageReference): string {
  return repositoryName(ref) + (ref.tag ? `:${ref.tag}` : '') + (ref.digest ? `@${ref.digest}` : '')
}

/** Describe one character for a message: printable ones quoted, the rest as code points. */
export function describeChar(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0
  const hex = codePointOf(ch)
  return cp < 0x20 || cp === 0x7f || (cp >= 0x80 && cp < 0xa0) ? hex : `"${ch}" (${hex})`
}

/** A character by its code point alone (`U+00A0`): for the invisible ones. */
export function codePointOf(ch: string): string {
  return `U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`
}

class Invalid extends Error {}

/**
 * Parse one image reference. Docker's own normalisation is applied silently
 * (short names, Docker Hub aliases, `:latest`); a Docker Hub page URL is read
 * as the repository it shows, with a note saying so. Anything else that does
 * not fit the grammar is refused, with a suggestion when a repair is obvious.
 */
export function parseReference(input: string): ParseResult {
  try {
    return parseStrict(input)
  } catch (e) {
    if (!(e instanceof Invalid)) throw e
    const suggestion = suggest(input)
    return suggestion === undefined
      ? { ok: false, reason: e.message }
      : { ok: false, reason: e.message, suggestion }
  }
}

/** Parse a repository name alone (no tag, no digest), e.g. an allowlist prefix or a rendered target. */
export function parseRepositoryName(input: string): ParseResult {
  try {
    const parts = parseParts(input)
    if (parts.tag !== undefined || parts.digest !== undefined) {
      throw new Invalid(`"${input}" carries a tag or digest; a repository name is expected`)
    }
    return { ok: true, ref: { registry: parts.registry, repository: parts.repository } }
  } catch (e) {
    if (e instanceof Invalid) return { ok: false, reason: e.message }
    throw e
  }
}

function parseStrict(input: string): ParseResult {
  const web = readDockerHubUrl(input)
  if (web) return web
  const ref = parseParts(input)
  if (ref.tag === undefined && ref.digest === undefined) ref.tag = 'latest'
  return { ok: true, ref }
}

/** The reference as written, validated and normalised, without adding a default tag. */
function parseParts(input: string): ImageReference {
  if (input.length === 0) throw new Invalid('the reference is empty')
  if (input.length > MAX_INPUT_LENGTH) {
    throw new Invalid(
      `the reference is ${input.length} characters long; no image reference is longer than ${MAX_INPUT_LENGTH}`
    )
  }
  checkCharacters(input)

  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(input)) {
    throw new Invalid(
      `"${input.slice(0, input.indexOf(':') + 3)}" is a URL scheme; a reference names an image without one`
    )
  }
  if (input.startsWith('/')) throw new Invalid('the reference starts with "/"')

  let rest = input
  let digest: string | undefined
  const at = rest.indexOf('@')
  if (at >= 0) {
    digest = parseDigest(rest.slice(at + 1))
    rest = rest.slice(0, at)
  }
  // "[" only opens an IPv6 registry address, and a registry alone names no image.
  if (/^\[[^\]/]*\](?::[^/]*)?$/.test(rest)) {
    const example = /^\[[0-9A-Fa-f:]+\](?::[0-9]+)?$/.test(rest) ? rest : '[address]:port'
    throw new Invalid(
      `"${rest}" is a registry address with no repository after it; write ${example}/repo`
    )
  }

  let tag: string | undefined
  const colon = rest.lastIndexOf(':')
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
  }
  refuseIdOrDigest(rest, tag, digest)
  if (tag !== undefined) checkTag(tag)

  const { registry, repository } = parseName(rest)
  const ref: ImageReference = { registry, repository }
  if (tag !== undefined) ref.tag = tag
  if (digest !== undefined) ref.digest = digest
  return ref
}

/**
 * Refuse what people paste in place of a name: a local image ID (64 hex
 * digits, which distribution/reference refuses as a name) or a digest on its
 * own, which docker would otherwise read as a repository called "sha256"
 * with the hex as its tag. Only the short form, with no registry and no
 * namespace, is ambiguous: "docker.io/<64 hex>" names a repository, as in
 * distribution/reference.
 */
function refuseIdOrDigest(name: string, tag: string | undefined, digest: string | undefined): void {
  if (name.length === 0 && tag === undefined && digest !== undefined) {
    throw new Invalid(
      `the reference is a digest with no repository name in front of it; write repo@${digest.slice(0, digest.indexOf(':'))}:<hex>`
    )
  }
  if (name.includes('/')) return
  const algorithm = name.toLowerCase()
  if (tag !== undefined && Object.hasOwn(DIGEST_ALGORITHMS, algorithm) && DIGEST_HEX.test(tag)) {
    throw new Invalid(
      `"${name}:${tag}" is a digest on its own, and a digest alone names no repository; write repo@${algorithm}:<hex>`
    )
  }
  if (IMAGE_ID.test(name)) {
    throw new Invalid(
      `"${name}" is an image ID, not an image name; write repo@sha256:<hex> (the digest from "docker images --digests"; a local image ID is usually not the registry's digest)`
    )
  }
}

function checkCharacters(input: string): void {
  for (let i = 0; i < input.length; i++) {
    const ch = input[i] as string
    const cp = input.codePointAt(i) ?? 0
    if (cp > 0x7e || cp < 0x21) {
      const full = String.fromCodePoint(cp)
      const what = /\s/.test(full)
        ? 'whitespace'
        : cp > 0x7e
          ? 'a non-ASCII character'
          : 'a control character'
      throw new Invalid(
        `the reference contains ${what} ${describeChar(full)} at position ${i + 1}; image references are plain ASCII without spaces`
      )
    }
    if (!/[A-Za-z0-9._:/@[\]-]/.test(ch)) {
      throw new Invalid(
        `the reference contains ${describeChar(ch)} at position ${i + 1}, which no image reference may contain`
      )
    }
  }
}

function parseDigest(text: string): string {
  const colon = text.indexOf(':')
  if (colon < 0)
    throw new Invalid(`digest "${text}" has no algorithm; expected sha256:<64 hex digits>`)
  const algorithm = text.slice(0, colon)
  const hex = text.slice(colon + 1)
  const length = Object.hasOwn(DIGEST_ALGORITHMS, algorithm)
    ? DIGEST_ALGORITHMS[algorithm]
    : undefined
  if (length === undefined) {
    throw new Invalid(
      `digest algorithm "${algorithm}" is not supported; expected sha256 (or sha512)`
    )
  }
  if (!/^[0-9a-fA-F]*$/.test(hex)) {
    throw new Invalid(`digest "${text}" has characters that are not hexadecimal`)
  }
  if (hex.length !== length) {
    throw new Invalid(
      `digest "${text}" has ${hex.length} hex digits; ${algorithm} takes exactly ${length}`
    )
  }
  if (hex !== hex.toLowerCase())
    throw new Invalid(`digest "${text}" has upper-case hex digits; digests are lower case`)
  return `${algorithm}:${hex}`
}

function checkTag(tag: string): void {
  if (tag.length === 0) throw new Invalid('the tag after ":" is empty')
  if (tag.length > MAX_TAG_LENGTH) {
    throw new Invalid(
      `tag "${tag.slice(0, 20)}..." is ${tag.length} characters long; a tag is at most ${MAX_TAG_LENGTH}`
    )
  }
  if (!TAG.test(tag)) {
    throw new Invalid(
      /^[.-]/.test(tag)
        ? `tag "${tag}" starts with "${tag[0]}"; a tag starts with a letter, digit or "_"`
        : `tag "${tag}" is not a valid tag (letters, digits, "_", "." and "-" only)`
    )
  }
}

/** Split and validate `[domain/]path`, applying Docker Hub's normalisation. */
function parseName(name: string): { registry: string; repository: string } {
  if (name.length === 0) throw new Invalid('the repository name is empty')
  if (name.endsWith('/')) throw new Invalid(`"${name}" ends with "/"`)
  const slash = name.indexOf('/')
  const first = slash < 0 ? name : name.slice(0, slash)
  const isDomain =
    slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost')

  let registry = DOCKER_HUB
  let path = name
  if (isDomain) {
    registry = parseDomain(first)
    path = name.slice(slash + 1)
  } else if (name.includes(':')) {
    throw new Invalid(`"${name}" has a ":" where none belongs`)
  }

  const components = path.split('/')
  components.forEach(checkPathComponent)
  if (registry === DOCKER_HUB && components.length === 1) components.unshift('library')
  const repository = components.join('/')
  const full = `${registry}/${repository}`
  if (full.length > MAX_NAME_LENGTH) {
    throw new Invalid(
      `the name "${full.slice(0, 40)}..." is ${full.length} characters long; registries accept at most ${MAX_NAME_LENGTH}`
    )
  }
  return { registry, repository }
}

function parseDomain(domain: string): string {
  let host = domain
  let port: string | undefined
  const portMatch = /^(.*):([^:\]]*)$/.exec(domain)
  if (portMatch && !(domain.startsWith('[') && !domain.includes(']:'))) {
    host = portMatch[1] as string
    port = portMatch[2] as string
  }
  const portOk =
    port === undefined || (/^[0-9]{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)
  // The host first, then the port: the order they are written in.
  host = host.toLowerCase()
  if (host.includes('[') || host.includes(']')) {
    checkIPv6(domain, host, portOk ? port : undefined)
  } else {
    if (host.length === 0) throw new Invalid(`registry "${domain}" has no host name`)
    if (host.includes(':')) {
      throw new Invalid(
        `registry "${domain}" has more than one ":"; an IPv6 address goes in square brackets, e.g. [2001:db8::1]:5000`
      )
    }
    if (host.length > 253)
      throw new Invalid(`registry host "${host.slice(0, 30)}..." is longer than 253 characters`)
    for (const label of host.split('.')) {
      if (!DOMAIN_LABEL.test(label) || label.length > 63) {
        throw new Invalid(
          label.length === 0
            ? `registry "${domain}" has an empty label (two dots, or a leading or trailing dot)`
            : `registry "${domain}": "${label}" is not a valid host name label (letters, digits and inner "-")`
        )
      }
    }
  }
  if (!portOk) {
    throw new Invalid(`port "${port}" of registry "${domain}" is not a port number (1-65535)`)
  }
  if (port === undefined && DOCKER_HUB_ALIASES.has(host)) return DOCKER_HUB
  return port === undefined ? host : `${host}:${port}`
}

/**
 * `[address]`, as the grammar allows it: hex digits and ":" only (no zone, no
 * IPv4 part), and, beyond the grammar, the shape of a real IPv6 address.
 */
function checkIPv6(domain: string, host: string, port: string | undefined): void {
  const m = /^\[([^[\]]*)\]$/.exec(host)
  if (!m) {
    throw new Invalid(
      `registry "${domain}" has a "[" or "]" out of place; an IPv6 address is written [address] or [address]:port, e.g. [2001:db8::1]:5000`
    )
  }
  const address = m[1] as string
  if (address.length === 0) {
    throw new Invalid(
      `registry "${domain}" has nothing between "[" and "]"; write an IPv6 address there, e.g. [2001:db8::1]`
    )
  }
  if (address.includes('.')) {
    const lastColon = address.lastIndexOf(':')
    const v4 = address.slice(lastColon + 1)
    let fix = ''
    if (lastColon >= 0 && IPV4.test(v4)) {
      const [a, b, c, d] = v4.split('.').map(Number) as [number, number, number, number]
      const hex = `${address.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
      if (ipv6Problem(hex) === undefined)
        fix = `, e.g. [${hex}]${port === undefined ? '' : `:${port}`}`
    }
    throw new Invalid(
      `registry "${domain}" has an IPv4 part${lastColon >= 0 ? ` ("${v4}")` : ''} in its IPv6 address; image references allow only hex digits and ":" between "[" and "]", so write the address in hex${fix}`
    )
  }
  const bad = /[^0-9a-f:]/.exec(address)
  if (bad) {
    throw new Invalid(
      `registry "${domain}" has ${describeChar(bad[0])} in its IPv6 address; only hex digits and ":" are allowed between "[" and "]"`
    )
  }
  const problem = ipv6Problem(address)
  if (problem !== undefined) {
    throw new Invalid(`registry "${domain}": "${address}" is not an IPv6 address (${problem})`)
  }
}

/** Why hex-and-colons text is not an IPv6 address, or undefined if it is one. */
function ipv6Problem(address: string): string | undefined {
  const halves = address.split('::')
  if (halves.length > 2) return '"::" may appear only once'
  const groups = halves.flatMap(half => (half.length === 0 ? [] : half.split(':')))
  if (groups.some(g => g.length === 0)) {
    return 'it has an empty group: a single ":" at the start or end, or ":::"'
  }
  const long = groups.find(g => g.length > 4)
  if (long !== undefined) return `group "${long}" has more than 4 hex digits`
  if (halves.length === 2 && groups.length > 7) {
    return `it has ${groups.length} groups and "::"; with "::" there are at most 7`
  }
  if (halves.length === 1 && groups.length !== 8) {
    return `it has ${groups.length} group${groups.length === 1 ? '' : 's'}; without "::" there are exactly 8`
  }
  return undefined
}

function checkPathComponent(component: string, _index: number, all: string[]): void {
  if (component.length === 0) {
    throw new Invalid(`the repository path "${all.join('/')}" has an empty component ("//")`)
  }
  if (PATH_COMPONENT.test(component)) return
  if (/[A-Z]/.test(component)) {
    throw new Invalid(`"${component}" has upper-case letters; repository names are lower case`)
  }
  if (/^[._-]|[._-]$/.test(component)) {
    throw new Invalid(
      `"${component}" starts or ends with a separator ("." "_" "-"); a path component starts and ends with a letter or digit`
    )
  }
  if (component.includes(':') || component.includes('@')) {
    throw new Invalid(
      `"${component}" has a "${component.includes(':') ? ':' : '@'}" inside the repository path`
    )
  }
  if (component.includes('[') || component.includes(']')) {
    throw new Invalid(
      `"${component}" has a "[" or "]"; those only go around an IPv6 registry address, e.g. [2001:db8::1]:5000/repo`
    )
  }
  throw new Invalid(
    `"${component}" is not a valid path component (separators "." "_" "__" "-" may only stand between letters and digits, one at a time)`
  )
}

/**
 * Docker Hub page URLs (`https://hub.docker.com/r/ns/name`, `/_/name`,
 * `/layers/ns/name/tag/...`) name a repository; read them as one.
 */
function readDockerHubUrl(input: string): ParseResult | undefined {
  if (input.length > MAX_INPUT_LENGTH) return undefined
  const m = /^(?:https?:\/\/)?(?:www\.)?hub\.docker\.com\/(.*)$/i.exec(input)
  if (!m) return undefined
  const parts = (m[1] as string)
    .split(/[?#]/)[0]!
    .split('/')
    .filter(p => p.length > 0)
  let repo: string | undefined
  let tag: string | undefined
  if (parts[0] === '_' && parts[1]) repo = `library/${parts[1]}`
  else if ((parts[0] === 'r' || parts[0] === 'repository') && parts[1]) {
    const rest =
      parts[0] === 'repository' && parts[1] === 'docker' ? parts.slice(2) : parts.slice(1)
    if (rest[0] && rest[1]) repo = `${rest[0]}/${rest[1]}`
    else if (rest[0]) repo = `library/${rest[0]}`
  } else if (parts[0] === 'layers' && parts[1] && parts[2]) {
    repo =
      parts[1] === 'library' || parts[1] === '_' ? `library/${parts[2]}` : `${parts[1]}/${parts[2]}`
    tag = parts[3]
  }
  if (!repo) {
    throw new Invalid(
      `"${input}" is a Docker Hub page, but not one that names a repository (expected hub.docker.com/r/<namespace>/<name>)`
    )
  }
  const parsed = parseStrict(`docker.io/${repo}${tag ? ':' + tag : ''}`)
  if (!parsed.ok) return parsed
  return { ...parsed, note: `read the Docker Hub page ${input} as ${formatReference(parsed.ref)}` }
}

// A few look-alike letters seen in spoofed names; used only to suggest, never to accept.
const CONFUSABLES: Record<string, string> = {
  '\u0430': 'a',
  '\u0435': 'e',
  '\u043e': 'o',
  '\u0440': 'p',
  '\u0441': 'c',
  '\u0443': 'y',
  '\u0445': 'x',
  '\u0456': 'i',
  '\u0458': 'j',
  '\u0455': 's',
  '\u0501': 'd',
  '\u04bb': 'h',
  '\u03bf': 'o',
  '\u03b1': 'a',
  '\u0131': 'i',
  '\u2010': '-',
  '\u2011': '-',
  '\u2013': '-',
  '\u2014': '-',
  '\u2215': '/',
  '\u2044': '/',
  '\uff0f': '/',
  '\u00b7': '.'
}

/**
 * Try the repairs people most often need and return the normal form when the
 * repaired text parses. A suggestion is only ever shown, never used.
 */
function suggest(input: string): string | undefined {
  let text = input.normalize('NFKC').replace(/[\u0080-\uffff]/g, ch => CONFUSABLES[ch] ?? ch)
  // eslint-disable-next-line no-control-regex
  text = text.replace(/[\u0000-\u0008\u000e-\u001f\u007f]/g, '').trim()
  const pull =
    /^(?:sudo\s+)?(?:docker|podman|nerdctl|crictl|ctr(?:\s+-n\s*=?\s*\S+)?(?:\s+images?)?)\s+pull\s+(.*)$/i.exec(
      text
    )
  if (pull)
    text =
      (pull[1] as string)
        .split(/\s+/)
        .filter(w => !w.startsWith('-'))
        .pop() ?? ''
  text = text.replace(/\s+/g, '')
  text = text
    .replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')
    .replace(/^\/+|\/+$/g, '')
    .replace(/\/{2,}/g, '/')
  // Lower-case the name part only: tags may legitimately hold upper case.
  const at = text.indexOf('@')
  const beforeDigest = at < 0 ? text : text.slice(0, at)
  const digestPart = at < 0 ? '' : text.slice(at).toLowerCase()
  const colon = beforeDigest.lastIndexOf(':')
  const tagStart = colon > beforeDigest.lastIndexOf('/') ? colon : beforeDigest.length
  text = beforeDigest.slice(0, tagStart).toLowerCase() + beforeDigest.slice(tagStart) + digestPart
  // Docker Hub's home page names no image; "library/hub.docker.com" would be a poor guess.
  if (text === input || text.length === 0 || /^(?:www\.)?hub\.docker\.com$/i.test(text)) {
    return undefined
  }
  // A digest anywhere but after "@" (say "nginx sha256:..." run together) would
  // come back as a name or a tag: no guess is better than that reading.
  if (/(?:^|[^@])sha(?:256|512):[0-9a-f]{32}/i.test(text)) return undefined
  try {
    const repaired = parseStrict(text)
    return repaired.ok ? formatReference(repaired.ref) : undefined
  } catch {
    return undefined
  }
}
