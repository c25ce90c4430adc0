/**
 * distribution/reference's own test vectors, transcribed as data: the input
 * of each vector, and whether this parser accepts it and what it normalises
 * it to. Source: github.com/distribution/reference, commit
 * 0965666a6ade2e06035fe352e38344be1e68951a; `from` is the file and line of
 * the vector's input there.
 *
 * How a vector becomes a case:
 * - This parser normalises the way ParseNormalizedNamed / ParseDockerRef do
 *   (`docker.io/`, `library/` for one-component Docker Hub names, `:latest`
 *   when there is neither tag nor digest), so every expectation is the
 *   normalised one, even for vectors of Parse, WithName or a regexp, which
 *   do not normalise: Parse's `test_com` is `docker.io/library/test_com:latest`
 *   here. Where the library's non-normalising answer is accepted the
 *   normalised one is too, so nothing flips between accepted and refused.
 * - Vectors of a name without tag or digest (WithName, the name regexp) run
 *   through parseRepositoryName; the others through parseReference.
 * - Domain regexp vectors are used as the registry of `<domain>/repo`.
 * - A vector repeated with the same input in the same Go test is taken once.
 * - `differs` says where this project deliberately gives another answer
 *   than the library, and why; `note` explains a mapping that is not one to
 *   one (a vector of a stricter or looser library function).
 */
import { describe, expect, test } from '@jest/globals'
import {
  MAX_NAME_LENGTH,
  formatReference,
  parseReference,
  parseRepositoryName,
  repositoryName,
  type ImageReference
} from '../src/image/references.js'

type File = 'reference_test.go' | 'normalize_test.go' | 'regexp_test.go'

interface Vector {
  /** File and line of the vector's input in distribution/reference. */
  from: `${File}:${number}`
  /** The library function (or regexp) the vector exercises. */
  api: string
  input: string
  /** What this parser normalises it to; absent when it is refused. */
  accept?: ImageReference
  /** For a refused input, what the reason must say. */
  reason?: RegExp
  /** Parse as a repository name alone (no tag, no digest). */
  nameOnly?: boolean
  /** How this project deliberately differs from the library here, and why. */
  differs?: string
  /** How the vector was mapped onto this parser, when not one to one. */
  note?: string
}

/** Expected result: registry, repository, then tag and digest when there are any. */
function at(registry: string, repository: string, tag?: string, digest?: string): ImageReference {
  const ref: ImageReference = { registry, repository }
  if (tag !== undefined) ref.tag = tag
  if (digest !== undefined) ref.digest = digest
  return ref
}
const hub = (repository: string, tag?: string, digest?: string): ImageReference =>
  at('docker.io', repository, tag, digest)

// Digests and hex strings, as written in the vectors.
const F64 = 'sha256:' + 'f'.repeat(64)
const F128 = 'sha512:' + 'f'.repeat(128)
const SERIAL = 'sha256:1234567890098765432112345667890098765432112345667890098765432112'
const SHORT37 = 'sha256:1234567890098765432112345667890098765'
const BUSYBOX = 'sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa'
const DOCKER_REF = 'sha256:e6693c20186f837fc393390135d8a598a96a833917917789d63766cab6c59582'
const REDIS = 'sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c'
const MYAPP = 'sha256:be178c0543eb17f5f3043021c9e5fcf30285e557a4fc309cce97ff9ca6182912'
const HEX_1A3F = '1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a'
const HEX_DA30 = 'da304e823d8ca2b9d863a3c897baeb852ba21ea9a9f1414736394ae7fcaf9821'
const SONG = 'thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev'
const LONG_NAMESPACE =
  'this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255/docker'

// Reasons shared by many cases.
const UPPER = /upper-case/
const SEPARATOR = /separator|not a valid path component/
const IMAGE_ID = /is an image ID, not an image name; write repo@sha256:<hex>/
const DIGEST_ALONE = /is a digest on its own, and a digest alone names no repository/
const TOO_LONG = new RegExp(`characters long; registries accept at most ${MAX_NAME_LENGTH}`)
const BAD_PORT = /is not a port number \(1-65535\)/
const BAD_LABEL = /is not a valid host name label|empty label/

// Deliberate differences, said once.
const UPPER_FIRST =
  'The library reads an upper-case first component as a registry host (no "." or ":" needed) and keeps it; ' +
  'this project refuses upper case in a name, because a Docker Hub namespace cannot have it and a host ' +
  'that is neither "localhost" nor has a "." or ":" is far more often a mistyped namespace than a registry.'
const WHOLE_NAME_CAP =
  'The library caps the path below the registry at 255 characters; this project caps the whole ' +
  '`registry/repository` at 255 (MAX_NAME_LENGTH), as registries and clients cap the full name.'
const PORT_RANGE =
  "The library's grammar allows any digits as a port (comments on these vectors say validation should " +
  'refuse such ports, but Parse does not); this project refuses ports outside 1-65535.'
const HOST_CASE =
  'The library keeps the host as written; this project lower-cases it (host names are case-insensitive), ' +
  'so one registry has one spelling in patterns and targets.'
const DIGEST_PASTE =
  'ParseNormalizedNamed would read this as a repository named "sha256" with the hex as its tag ' +
  '(docker.io/library/sha256:<hex>); ParseAnyReference reads it as a digest with no repository. ' +
  'A mirror needs a repository, and the "sha256" reading is never what was meant, so it is refused ' +
  'with a hint to write repo@sha256:<hex>.'

const P = 'Parse'
const WN = 'WithName'
const PNN = 'ParseNormalizedNamed'
const PAR = 'ParseAnyReference'
const PDR = 'ParseDockerRef'
const PN = 'ParseNamed'

const VECTORS: Vector[] = [
  // --- reference_test.go, TestReferenceParse (Parse) ------------------------
  {
    from: 'reference_test.go:32',
    api: P,
    input: 'test_com',
    accept: hub('library/test_com', 'latest')
  },
  {
    from: 'reference_test.go:36',
    api: P,
    input: 'test.com:tag',
    accept: hub('library/test.com', 'tag')
  },
  {
    from: 'reference_test.go:41',
    api: P,
    input: 'test.com:5000',
    accept: hub('library/test.com', '5000')
  },
  {
    from: 'reference_test.go:46',
    api: P,
    input: 'test.com/repo:tag',
    accept: at('test.com', 'repo', 'tag')
  },
  {
    from: 'reference_test.go:52',
    api: P,
    input: 'test:5000/repo',
    accept: at('test:5000', 'repo', 'latest')
  },
  {
    from: 'reference_test.go:57',
    api: P,
    input: 'test:5000/repo:tag',
    accept: at('test:5000', 'repo', 'tag')
  },
  {
    from: 'reference_test.go:63',
    api: P,
    input: `test:5000/repo@${F64}`,
    accept: at('test:5000', 'repo', undefined, F64)
  },
  {
    from: 'reference_test.go:69',
    api: P,
    input: `test:5000/repo:tag@${F64}`,
    accept: at('test:5000', 'repo', 'tag', F64)
  },
  {
    from: 'reference_test.go:76',
    api: P,
    input: 'test:5000/repo',
    accept: at('test:5000', 'repo', 'latest')
  },
  { from: 'reference_test.go:81', api: P, input: '', reason: /empty/ },
  { from: 'reference_test.go:85', api: P, input: ':justtag', reason: /repository name is empty/ },
  {
    from: 'reference_test.go:89',
    api: P,
    input: `@${F64}`,
    reason: /digest with no repository name/
  },
  {
    from: 'reference_test.go:93',
    api: P,
    input: 'repo@sha256:ffffffffffffffffffffffffffffffffff',
    reason: /34 hex digits; sha256 takes exactly 64/
  },
  {
    from: 'reference_test.go:97',
    api: P,
    input: 'validname@invaliddigest:' + 'f'.repeat(64),
    reason: /algorithm "invaliddigest" is not supported/
  },
  {
    from: 'reference_test.go:102',
    api: P,
    input: `validname@${F128}`,
    accept: hub('library/validname', undefined, F128),
    differs:
      "The library refuses only because its test binary does not register sha512 (the vector's comment: " +
      '"sha512 is valid, but not registered by default"); this project supports sha512 digests.'
  },
  { from: 'reference_test.go:106', api: P, input: 'Uppercase:tag', reason: UPPER },
  {
    from: 'reference_test.go:116',
    api: P,
    input: 'test:5000/Uppercase/lowercase:tag',
    reason: UPPER
  },
  {
    from: 'reference_test.go:120',
    api: P,
    input: 'lowercase:Uppercase',
    accept: hub('library/lowercase', 'Uppercase')
  },
  {
    from: 'reference_test.go:125',
    api: P,
    input: 'domain/' + 'a'.repeat(256) + ':tag',
    reason: TOO_LONG
  },
  {
    from: 'reference_test.go:129',
    api: P,
    input: 'a/'.repeat(127) + 'a:tag-puts-this-over-max',
    reason: TOO_LONG,
    differs:
      WHOLE_NAME_CAP +
      ' Normalised, this is docker.io/ plus a 255-character path, 265 in all; the library accepts it.'
  },
  { from: 'reference_test.go:135', api: P, input: 'aa/asdf$$^/aa', reason: /"\$"/ },
  {
    from: 'reference_test.go:139',
    api: P,
    input: 'sub-dom1.foo.com/bar/baz/quux',
    accept: at('sub-dom1.foo.com', 'bar/baz/quux', 'latest')
  },
  {
    from: 'reference_test.go:144',
    api: P,
    input: 'sub-dom1.foo.com/bar/baz/quux:some-long-tag',
    accept: at('sub-dom1.foo.com', 'bar/baz/quux', 'some-long-tag')
  },
  {
    from: 'reference_test.go:150',
    api: P,
    input: 'b.gcr.io/test.example.com/my-app:test.example.com',
    accept: at('b.gcr.io', 'test.example.com/my-app', 'test.example.com')
  },
  {
    from: 'reference_test.go:156',
    api: P,
    input: 'xn--n3h.com/myimage:xn--n3h.com',
    accept: at('xn--n3h.com', 'myimage', 'xn--n3h.com')
  },
  {
    from: 'reference_test.go:162',
    api: P,
    input: `xn--7o8h.com/myimage:xn--7o8h.com@${F64}`,
    accept: at('xn--7o8h.com', 'myimage', 'xn--7o8h.com', F64)
  },
  {
    from: 'reference_test.go:169',
    api: P,
    input: 'foo_bar.com:8080',
    accept: hub('library/foo_bar.com', '8080')
  },
  {
    from: 'reference_test.go:174',
    api: P,
    input: 'foo/foo_bar.com:8080',
    accept: hub('foo/foo_bar.com', '8080'),
    note: 'Parse reports "foo" as the domain; ParseNormalizedNamed, like this parser, reads it as a Docker Hub namespace.'
  },
  {
    from: 'reference_test.go:180',
    api: P,
    input: '192.168.1.1',
    accept: hub('library/192.168.1.1', 'latest')
  },
  {
    from: 'reference_test.go:184',
    api: P,
    input: '192.168.1.1:tag',
    accept: hub('library/192.168.1.1', 'tag')
  },
  {
    from: 'reference_test.go:189',
    api: P,
    input: '192.168.1.1:5000',
    accept: hub('library/192.168.1.1', '5000')
  },
  {
    from: 'reference_test.go:194',
    api: P,
    input: '192.168.1.1/repo',
    accept: at('192.168.1.1', 'repo', 'latest')
  },
  {
    from: 'reference_test.go:199',
    api: P,
    input: '192.168.1.1:5000/repo',
    accept: at('192.168.1.1:5000', 'repo', 'latest')
  },
  {
    from: 'reference_test.go:204',
    api: P,
    input: '192.168.1.1:5000/repo:5050',
    accept: at('192.168.1.1:5000', 'repo', '5050')
  },
  {
    from: 'reference_test.go:210',
    api: P,
    input: '[2001:db8::1]',
    reason: /no repository after it/
  },
  {
    from: 'reference_test.go:214',
    api: P,
    input: '[2001:db8::1]:5000',
    reason: /no repository after it/
  },
  {
    from: 'reference_test.go:218',
    api: P,
    input: '[2001:db8::1]:tag',
    reason: /no repository after it/
  },
  {
    from: 'reference_test.go:222',
    api: P,
    input: '[2001:db8::1]/repo',
    accept: at('[2001:db8::1]', 'repo', 'latest')
  },
  {
    from: 'reference_test.go:227',
    api: P,
    input: '[2001:db8:1:2:3:4:5:6]/repo:tag',
    accept: at('[2001:db8:1:2:3:4:5:6]', 'repo', 'tag')
  },
  {
    from: 'reference_test.go:233',
    api: P,
    input: '[2001:db8::1]:5000/repo',
    accept: at('[2001:db8::1]:5000', 'repo', 'latest')
  },
  {
    from: 'reference_test.go:238',
    api: P,
    input: '[2001:db8::1]:5000/repo:tag',
    accept: at('[2001:db8::1]:5000', 'repo', 'tag')
  },
  {
    from: 'reference_test.go:244',
    api: P,
    input: `[2001:db8::1]:5000/repo@${F64}`,
    accept: at('[2001:db8::1]:5000', 'repo', undefined, F64)
  },
  {
    from: 'reference_test.go:250',
    api: P,
    input: `[2001:db8::1]:5000/repo:tag@${F64}`,
    accept: at('[2001:db8::1]:5000', 'repo', 'tag', F64)
  },
  {
    from: 'reference_test.go:257',
    api: P,
    input: '[2001:db8::]:5000/repo',
    accept: at('[2001:db8::]:5000', 'repo', 'latest')
  },
  {
    from: 'reference_test.go:262',
    api: P,
    input: '[::1]:5000/repo',
    accept: at('[::1]:5000', 'repo', 'latest')
  },
  { from: 'reference_test.go:267', api: P, input: '[fe80::1%eth0]:5000/repo', reason: /"%"/ },
  {
    from: 'reference_test.go:271',
    api: P,
    input: '[fe80::1%@invalidzone]:5000/repo',
    reason: /"%"/
  },
  {
    from: 'reference_test.go:275',
    api: P,
    input: 'example.com/' + 'a'.repeat(255) + ':tag',
    reason: TOO_LONG,
    differs:
      WHOLE_NAME_CAP + ' Here the path is 255 and the whole name 267; the library accepts it.'
  },

  // --- reference_test.go, TestWithNameFailure (WithName: a name alone) ------
  { from: 'reference_test.go:350', api: WN, nameOnly: true, input: '', reason: /empty/ },
  {
    from: 'reference_test.go:354',
    api: WN,
    nameOnly: true,
    input: ':justtag',
    reason: /tag or digest|empty/
  },
  {
    from: 'reference_test.go:358',
    api: WN,
    nameOnly: true,
    input: `@${F64}`,
    reason: /no repository name/
  },
  {
    from: 'reference_test.go:362',
    api: WN,
    nameOnly: true,
    input: 'validname@invaliddigest:' + 'f'.repeat(64),
    reason: /not supported/
  },
  {
    from: 'reference_test.go:366',
    api: WN,
    nameOnly: true,
    input: 'example.com/repo:tag',
    reason: /carries a tag or digest/
  },
  {
    from: 'reference_test.go:370',
    api: WN,
    nameOnly: true,
    input: 'example.com/' + 'a'.repeat(256),
    reason: TOO_LONG
  },
  {
    from: 'reference_test.go:374',
    api: WN,
    nameOnly: true,
    input: 'aa/asdf$$^/aa',
    reason: /"\$"/
  },

  // --- reference_test.go, TestDomainAndPath (WithName) ----------------------
  {
    from: 'reference_test.go:398',
    api: WN,
    nameOnly: true,
    input: 'test.com/foo',
    accept: at('test.com', 'foo')
  },
  {
    from: 'reference_test.go:403',
    api: WN,
    nameOnly: true,
    input: 'test_com/foo',
    accept: hub('test_com/foo'),
    note: 'WithName leaves the domain empty; normalised, that is docker.io.'
  },
  {
    from: 'reference_test.go:408',
    api: WN,
    nameOnly: true,
    input: 'test:8080/foo',
    accept: at('test:8080', 'foo')
  },
  {
    from: 'reference_test.go:413',
    api: WN,
    nameOnly: true,
    input: 'test.com:8080/foo',
    accept: at('test.com:8080', 'foo')
  },
  {
    from: 'reference_test.go:418',
    api: WN,
    nameOnly: true,
    input: 'test-com:8080/foo',
    accept: at('test-com:8080', 'foo')
  },
  {
    from: 'reference_test.go:423',
    api: WN,
    nameOnly: true,
    input: 'xn--n3h.com:18080/foo',
    accept: at('xn--n3h.com:18080', 'foo')
  },

  // --- reference_test.go, TestSerialization (Field.UnmarshalText, i.e. Parse)
  {
    from: 'reference_test.go:462',
    api: P,
    input: '',
    reason: /empty/,
    note: 'The "empty value" case has no input line; its input is the empty string.'
  },
  {
    from: 'reference_test.go:467',
    api: P,
    input: 'example.com:8000/named',
    accept: at('example.com:8000', 'named', 'latest')
  },
  {
    from: 'reference_test.go:472',
    api: P,
    input: 'example.com:8000/named:tagged',
    accept: at('example.com:8000', 'named', 'tagged')
  },
  {
    from: 'reference_test.go:478',
    api: P,
    input: `other.com/named@${SERIAL}`,
    accept: at('other.com', 'named', undefined, SERIAL)
  },

  // --- reference_test.go, TestWithTag / TestWithDigest (the combined string)
  {
    from: 'reference_test.go:585',
    api: 'WithTag',
    input: 'test.com/foo:tag',
    accept: at('test.com', 'foo', 'tag')
  },
  {
    from: 'reference_test.go:590',
    api: 'WithTag',
    input: 'foo:tag2',
    accept: hub('library/foo', 'tag2')
  },
  {
    from: 'reference_test.go:595',
    api: 'WithTag',
    input: 'test.com:8000/foo:tag4',
    accept: at('test.com:8000', 'foo', 'tag4')
  },
  {
    from: 'reference_test.go:600',
    api: 'WithTag',
    input: 'test.com:8000/foo:TAG5',
    accept: at('test.com:8000', 'foo', 'TAG5')
  },
  ...[
    ['reference_test.go:606', 'WithTag', `test.com:8000/foo:TAG5@${SHORT37}`],
    ['reference_test.go:647', 'WithDigest', `test.com/foo@${SHORT37}`],
    ['reference_test.go:652', 'WithDigest', `foo@${SHORT37}`],
    ['reference_test.go:657', 'WithDigest', `test.com:8000/foo@${SHORT37}`],
    ['reference_test.go:663', 'WithDigest', `test.com:8000/foo:latest@${SHORT37}`]
  ].map(([from, api, input]): Vector => ({
    from: from as Vector['from'],
    api: api as string,
    input: input as string,
    reason: /37 hex digits; sha256 takes exactly 64/,
    note:
      'WithDigest checks only the loose digest pattern (32 or more hex digits) and the vector is the string ' +
      "it builds; the library's own Parse refuses that string too (go-digest wants 64 for sha256), as this parser does."
  })),

  // --- reference_test.go, TestParseNamed (canonical names only) --------------
  {
    from: 'reference_test.go:701',
    api: PN,
    input: 'test.com/foo',
    accept: at('test.com', 'foo', 'latest')
  },
  {
    from: 'reference_test.go:706',
    api: PN,
    input: 'test:8080/foo',
    accept: at('test:8080', 'foo', 'latest')
  },
  ...(
    [
      ['reference_test.go:711', 'test_com/foo', hub('test_com/foo', 'latest')],
      ['reference_test.go:715', 'test.com', hub('library/test.com', 'latest')],
      ['reference_test.go:719', 'foo', hub('library/foo', 'latest')],
      ['reference_test.go:723', 'library/foo', hub('library/foo', 'latest')],
      ['reference_test.go:733', 'docker.io/foo', hub('library/foo', 'latest')]
    ] as const
  ).map(([from, input, accept]): Vector => ({
    from,
    api: PN,
    input,
    accept,
    note:
      'ParseNamed refuses a name that is not already canonical; ParseNormalizedNamed normalises it, ' +
      'as this parser does.'
  })),
  {
    from: 'reference_test.go:727',
    api: PN,
    input: 'docker.io/library/foo',
    accept: hub('library/foo', 'latest')
  },

  // --- normalize_test.go, TestValidateReferenceName (ParseNormalizedNamed) ---
  {
    from: 'normalize_test.go:13',
    api: PNN,
    input: 'docker/docker',
    accept: hub('docker/docker', 'latest')
  },
  {
    from: 'normalize_test.go:14',
    api: PNN,
    input: 'library/debian',
    accept: hub('library/debian', 'latest')
  },
  {
    from: 'normalize_test.go:15',
    api: PNN,
    input: 'debian',
    accept: hub('library/debian', 'latest')
  },
  {
    from: 'normalize_test.go:16',
    api: PNN,
    input: 'localhost/library/debian',
    accept: at('localhost', 'library/debian', 'latest')
  },
  {
    from: 'normalize_test.go:17',
    api: PNN,
    input: 'localhost/debian',
    accept: at('localhost', 'debian', 'latest')
  },
  {
    from: 'normalize_test.go:18',
    api: PNN,
    input: 'LOCALDOMAIN/library/debian',
    reason: UPPER,
    differs: UPPER_FIRST
  },
  {
    from: 'normalize_test.go:19',
    api: PNN,
    input: 'LOCALDOMAIN/debian',
    reason: UPPER,
    differs: UPPER_FIRST
  },
  {
    from: 'normalize_test.go:20',
    api: PNN,
    input: 'docker.io/docker/docker',
    accept: hub('docker/docker', 'latest')
  },
  {
    from: 'normalize_test.go:21',
    api: PNN,
    input: 'docker.io/library/debian',
    accept: hub('library/debian', 'latest')
  },
  {
    from: 'normalize_test.go:22',
    api: PNN,
    input: 'docker.io/debian',
    accept: hub('library/debian', 'latest')
  },
  {
    from: 'normalize_test.go:23',
    api: PNN,
    input: 'index.docker.io/docker/docker',
    accept: hub('docker/docker', 'latest')
  },
  {
    from: 'normalize_test.go:24',
    api: PNN,
    input: 'index.docker.io/library/debian',
    accept: hub('library/debian', 'latest')
  },
  {
    from: 'normalize_test.go:25',
    api: PNN,
    input: 'index.docker.io/debian',
    accept: hub('library/debian', 'latest')
  },
  {
    from: 'normalize_test.go:26',
    api: PNN,
    input: '127.0.0.1:5000/docker/docker',
    accept: at('127.0.0.1:5000', 'docker/docker', 'latest')
  },
  {
    from: 'normalize_test.go:27',
    api: PNN,
    input: '127.0.0.1:5000/library/debian',
    accept: at('127.0.0.1:5000', 'library/debian', 'latest')
  },
  {
    from: 'normalize_test.go:28',
    api: PNN,
    input: '127.0.0.1:5000/debian',
    accept: at('127.0.0.1:5000', 'debian', 'latest')
  },
  {
    from: 'normalize_test.go:29',
    api: PNN,
    input: '192.168.0.1',
    accept: hub('library/192.168.0.1', 'latest')
  },
  {
    from: 'normalize_test.go:30',
    api: PNN,
    input: '192.168.0.1:80',
    accept: hub('library/192.168.0.1', '80')
  },
  {
    from: 'normalize_test.go:31',
    api: PNN,
    input: '192.168.0.1:8/debian',
    accept: at('192.168.0.1:8', 'debian', 'latest')
  },
  {
    from: 'normalize_test.go:32',
    api: PNN,
    input: '192.168.0.2:25000/debian',
    accept: at('192.168.0.2:25000', 'debian', 'latest')
  },
  { from: 'normalize_test.go:33', api: PNN, input: SONG, accept: hub(`library/${SONG}`, 'latest') },
  {
    from: 'normalize_test.go:34',
    api: PNN,
    input: '[fc00::1]:5000/docker',
    accept: at('[fc00::1]:5000', 'docker', 'latest')
  },
  {
    from: 'normalize_test.go:35',
    api: PNN,
    input: '[fc00::1]:5000/docker/docker',
    accept: at('[fc00::1]:5000', 'docker/docker', 'latest')
  },
  {
    from: 'normalize_test.go:36',
    api: PNN,
    input: '[fc00:1:2:3:4:5:6:7]:5000/library/debian',
    accept: at('[fc00:1:2:3:4:5:6:7]:5000', 'library/debian', 'latest')
  },
  {
    from: 'normalize_test.go:41',
    api: PNN,
    input: `docker.io/${HEX_1A3F}`,
    accept: hub(`library/${HEX_1A3F}`, 'latest'),
    note: 'With a registry written, 64 hex digits are a repository name, not an image ID.'
  },
  {
    from: 'normalize_test.go:42',
    api: PNN,
    input: 'Docker/docker',
    reason: UPPER,
    differs: UPPER_FIRST
  },
  {
    from: 'normalize_test.go:43',
    api: PNN,
    input: 'DOCKER/docker',
    reason: UPPER,
    differs: UPPER_FIRST
  },
  {
    from: 'normalize_test.go:46',
    api: PNN,
    input: 'https://github.com/docker/docker',
    reason: /URL scheme/
  },
  { from: 'normalize_test.go:47', api: PNN, input: 'docker/Docker', reason: UPPER },
  { from: 'normalize_test.go:48', api: PNN, input: '-docker', reason: SEPARATOR },
  { from: 'normalize_test.go:49', api: PNN, input: '-docker/docker', reason: SEPARATOR },
  { from: 'normalize_test.go:50', api: PNN, input: '-docker.io/docker/docker', reason: BAD_LABEL },
  { from: 'normalize_test.go:51', api: PNN, input: 'docker///docker', reason: /empty component/ },
  { from: 'normalize_test.go:52', api: PNN, input: 'docker.io/docker/Docker', reason: UPPER },
  {
    from: 'normalize_test.go:53',
    api: PNN,
    input: 'docker.io/docker///docker',
    reason: /empty component/
  },
  { from: 'normalize_test.go:54', api: PNN, input: '[fc00::1]', reason: /no repository after it/ },
  {
    from: 'normalize_test.go:55',
    api: PNN,
    input: '[fc00::1]:5000',
    reason: /no repository after it/
  },
  {
    from: 'normalize_test.go:56',
    api: PNN,
    input: 'fc00::1:5000/debian',
    reason: /in square brackets/
  },
  { from: 'normalize_test.go:57', api: PNN, input: '[fe80::1%eth0]:5000/debian', reason: /"%"/ },
  {
    from: 'normalize_test.go:58',
    api: PNN,
    input: '[2001:db8:3:4::192.0.2.33]:5000/debian',
    reason: /IPv4 part \("192\.0\.2\.33"\).*e\.g\. \[2001:db8:3:4::c000:221\]:5000/
  },
  { from: 'normalize_test.go:59', api: PNN, input: HEX_1A3F, reason: IMAGE_ID },

  // --- normalize_test.go, TestValidateRemoteName (ParseNormalizedNamed) ------
  {
    from: 'normalize_test.go:81',
    api: PNN,
    input: 'docker/docker',
    accept: hub('docker/docker', 'latest')
  },
  { from: 'normalize_test.go:84', api: PNN, input: SONG, accept: hub(`library/${SONG}`, 'latest') },
  {
    from: 'normalize_test.go:87',
    api: PNN,
    input: 'docker-rules/docker',
    accept: hub('docker-rules/docker', 'latest')
  },
  {
    from: 'normalize_test.go:90',
    api: PNN,
    input: 'docker---rules/docker',
    accept: hub('docker---rules/docker', 'latest')
  },
  {
    from: 'normalize_test.go:93',
    api: PNN,
    input: 'doc/docker',
    accept: hub('doc/docker', 'latest')
  },
  { from: 'normalize_test.go:96', api: PNN, input: 'd/docker', accept: hub('d/docker', 'latest') },
  { from: 'normalize_test.go:97', api: PNN, input: 'jess/t', accept: hub('jess/t', 'latest') },
  {
    from: 'normalize_test.go:100',
    api: PNN,
    input: 'dock__er/docker',
    accept: hub('dock__er/docker', 'latest')
  },
  { from: 'normalize_test.go:111', api: PNN, input: 'docker/Docker', reason: UPPER },
  { from: 'normalize_test.go:114', api: PNN, input: 'docker///docker', reason: /empty component/ },
  { from: 'normalize_test.go:117', api: PNN, input: HEX_1A3F, reason: IMAGE_ID },
  { from: 'normalize_test.go:120', api: PNN, input: '-docker/docker', reason: SEPARATOR },
  { from: 'normalize_test.go:121', api: PNN, input: 'docker-/docker', reason: SEPARATOR },
  { from: 'normalize_test.go:122', api: PNN, input: '-docker-/docker', reason: SEPARATOR },
  { from: 'normalize_test.go:125', api: PNN, input: '____/____', reason: SEPARATOR },
  { from: 'normalize_test.go:127', api: PNN, input: '_docker/_docker', reason: SEPARATOR },
  { from: 'normalize_test.go:130', api: PNN, input: 'dock..er/docker', reason: BAD_LABEL },
  { from: 'normalize_test.go:131', api: PNN, input: 'dock_.er/docker', reason: BAD_LABEL },
  { from: 'normalize_test.go:132', api: PNN, input: 'dock-.er/docker', reason: BAD_LABEL },
  { from: 'normalize_test.go:135', api: PNN, input: 'docker/', reason: /ends with "\/"/ },
  { from: 'normalize_test.go:138', api: PNN, input: LONG_NAMESPACE, reason: TOO_LONG },

  // --- normalize_test.go, TestParseRepositoryInfo: familiar, full and
  // ambiguous spellings of one name (each distinct spelling once) ------------
  {
    from: 'normalize_test.go:156',
    api: PNN,
    input: 'localhost/fooo',
    accept: at('localhost', 'fooo', 'latest')
  },
  {
    from: 'normalize_test.go:163',
    api: PNN,
    input: 'localhost/fooo/bar',
    accept: at('localhost', 'fooo/bar', 'latest')
  },
  {
    from: 'normalize_test.go:170',
    api: PNN,
    input: 'LOCALDOMAIN/fooo',
    reason: UPPER,
    differs: UPPER_FIRST
  },
  {
    from: 'normalize_test.go:177',
    api: PNN,
    input: 'LOCALDOMAIN/fooo/bar',
    reason: UPPER,
    differs: UPPER_FIRST
  },
  { from: 'normalize_test.go:184', api: PNN, input: 'fooo/bar', accept: hub('fooo/bar', 'latest') },
  {
    from: 'normalize_test.go:185',
    api: PNN,
    input: 'docker.io/fooo/bar',
    accept: hub('fooo/bar', 'latest')
  },
  {
    from: 'normalize_test.go:186',
    api: PNN,
    input: 'index.docker.io/fooo/bar',
    accept: hub('fooo/bar', 'latest')
  },
  {
    from: 'normalize_test.go:191',
    api: PNN,
    input: 'ubuntu',
    accept: hub('library/ubuntu', 'latest')
  },
  {
    from: 'normalize_test.go:192',
    api: PNN,
    input: 'docker.io/library/ubuntu',
    accept: hub('library/ubuntu', 'latest')
  },
  {
    from: 'normalize_test.go:193',
    api: PNN,
    input: 'library/ubuntu',
    accept: hub('library/ubuntu', 'latest')
  },
  {
    from: 'normalize_test.go:198',
    api: PNN,
    input: 'nonlibrary/ubuntu',
    accept: hub('nonlibrary/ubuntu', 'latest')
  },
  {
    from: 'normalize_test.go:199',
    api: PNN,
    input: 'docker.io/nonlibrary/ubuntu',
    accept: hub('nonlibrary/ubuntu', 'latest')
  },
  {
    from: 'normalize_test.go:205',
    api: PNN,
    input: 'other/library',
    accept: hub('other/library', 'latest')
  },
  {
    from: 'normalize_test.go:206',
    api: PNN,
    input: 'docker.io/other/library',
    accept: hub('other/library', 'latest')
  },
  {
    from: 'normalize_test.go:212',
    api: PNN,
    input: '127.0.0.1:8000/private/moonbase',
    accept: at('127.0.0.1:8000', 'private/moonbase', 'latest')
  },
  {
    from: 'normalize_test.go:219',
    api: PNN,
    input: '127.0.0.1:8000/privatebase',
    accept: at('127.0.0.1:8000', 'privatebase', 'latest')
  },
  {
    from: 'normalize_test.go:226',
    api: PNN,
    input: 'example.com/private/moonbase',
    accept: at('example.com', 'private/moonbase', 'latest')
  },
  {
    from: 'normalize_test.go:233',
    api: PNN,
    input: 'example.com/privatebase',
    accept: at('example.com', 'privatebase', 'latest')
  },
  {
    from: 'normalize_test.go:240',
    api: PNN,
    input: 'example.com:8000/private/moonbase',
    accept: at('example.com:8000', 'private/moonbase', 'latest')
  },
  {
    from: 'normalize_test.go:247',
    api: PNN,
    input: 'example.com:8000/privatebasee',
    accept: at('example.com:8000', 'privatebasee', 'latest')
  },
  {
    from: 'normalize_test.go:254',
    api: PNN,
    input: 'ubuntu-12.04-base',
    accept: hub('library/ubuntu-12.04-base', 'latest')
  },
  {
    from: 'normalize_test.go:255',
    api: PNN,
    input: 'docker.io/library/ubuntu-12.04-base',
    accept: hub('library/ubuntu-12.04-base', 'latest')
  },
  {
    from: 'normalize_test.go:256',
    api: PNN,
    input: 'index.docker.io/library/ubuntu-12.04-base',
    accept: hub('library/ubuntu-12.04-base', 'latest')
  },
  { from: 'normalize_test.go:261', api: PNN, input: 'foo', accept: hub('library/foo', 'latest') },
  {
    from: 'normalize_test.go:262',
    api: PNN,
    input: 'docker.io/library/foo',
    accept: hub('library/foo', 'latest')
  },
  {
    from: 'normalize_test.go:263',
    api: PNN,
    input: 'docker.io/foo',
    accept: hub('library/foo', 'latest')
  },
  {
    from: 'normalize_test.go:268',
    api: PNN,
    input: 'library/foo/bar',
    accept: hub('library/foo/bar', 'latest')
  },
  {
    from: 'normalize_test.go:269',
    api: PNN,
    input: 'docker.io/library/foo/bar',
    accept: hub('library/foo/bar', 'latest')
  },
  {
    from: 'normalize_test.go:275',
    api: PNN,
    input: 'store/foo/bar',
    accept: hub('store/foo/bar', 'latest')
  },
  {
    from: 'normalize_test.go:276',
    api: PNN,
    input: 'docker.io/store/foo/bar',
    accept: hub('store/foo/bar', 'latest')
  },
  {
    from: 'normalize_test.go:282',
    api: PNN,
    input: 'Foo/bar',
    reason: UPPER,
    differs: UPPER_FIRST
  },
  {
    from: 'normalize_test.go:289',
    api: PNN,
    input: 'FOO/bar',
    reason: UPPER,
    differs: UPPER_FIRST
  },

  // --- normalize_test.go, TestParseReferenceWithTagAndDigest -----------------
  {
    from: 'normalize_test.go:338',
    api: PNN,
    input: `busybox:latest@${BUSYBOX}`,
    accept: hub('library/busybox', 'latest', BUSYBOX)
  },

  // --- normalize_test.go, TestInvalidReferenceComponents ---------------------
  { from: 'normalize_test.go:360', api: PNN, input: '-foo', reason: SEPARATOR },
  {
    from: 'normalize_test.go:363',
    api: PNN,
    input: 'busybox',
    accept: hub('library/busybox', 'latest')
  },
  {
    from: 'normalize_test.go:367',
    api: 'WithTag',
    input: 'busybox:-foo',
    reason: /tag "-foo" starts with "-"/,
    note: 'The vector adds the tag "-foo" to busybox with WithTag; here it is written as one reference.'
  },
  {
    from: 'normalize_test.go:370',
    api: 'WithDigest',
    input: 'busybox@foo',
    reason: /has no algorithm/,
    note: 'The vector adds the digest "foo" to busybox with WithDigest; here it is written as one reference.'
  },

  // --- normalize_test.go, TestParseAnyReference ------------------------------
  {
    from: 'normalize_test.go:409',
    api: PAR,
    input: 'redis',
    accept: hub('library/redis', 'latest')
  },
  {
    from: 'normalize_test.go:413',
    api: PAR,
    input: 'redis:latest',
    accept: hub('library/redis', 'latest')
  },
  {
    from: 'normalize_test.go:417',
    api: PAR,
    input: 'docker.io/library/redis:latest',
    accept: hub('library/redis', 'latest')
  },
  {
    from: 'normalize_test.go:421',
    api: PAR,
    input: `redis@${REDIS}`,
    accept: hub('library/redis', undefined, REDIS)
  },
  {
    from: 'normalize_test.go:425',
    api: PAR,
    input: `docker.io/library/redis@${REDIS}`,
    accept: hub('library/redis', undefined, REDIS)
  },
  {
    from: 'normalize_test.go:429',
    api: PAR,
    input: 'dmcgowan/myapp',
    accept: hub('dmcgowan/myapp', 'latest')
  },
  {
    from: 'normalize_test.go:433',
    api: PAR,
    input: 'dmcgowan/myapp:latest',
    accept: hub('dmcgowan/myapp', 'latest')
  },
  {
    from: 'normalize_test.go:437',
    api: PAR,
    input: 'docker.io/mcgowan/myapp:latest',
    accept: hub('mcgowan/myapp', 'latest')
  },
  {
    from: 'normalize_test.go:441',
    api: PAR,
    input: `dmcgowan/myapp@${REDIS}`,
    accept: hub('dmcgowan/myapp', undefined, REDIS)
  },
  {
    from: 'normalize_test.go:445',
    api: PAR,
    input: `docker.io/dmcgowan/myapp@${REDIS}`,
    accept: hub('dmcgowan/myapp', undefined, REDIS)
  },
  {
    from: 'normalize_test.go:449',
    api: PAR,
    input: REDIS.slice('sha256:'.length),
    reason: IMAGE_ID,
    note:
      'ParseAnyReference reads bare 64 hex digits as a digest with no repository, and ParseNormalizedNamed ' +
      'refuses them; a mirror needs a repository, so this parser refuses them as an image ID.'
  },
  {
    from: 'normalize_test.go:454',
    api: PAR,
    input: REDIS,
    reason: DIGEST_ALONE,
    differs: DIGEST_PASTE
  },
  {
    from: 'normalize_test.go:459',
    api: PAR,
    input: REDIS.slice('sha256:'.length, -1),
    accept: hub(`library/${REDIS.slice('sha256:'.length, -1)}`, 'latest'),
    note: '63 hex digits are not an image ID: a repository name, as in the library.'
  },
  {
    from: 'normalize_test.go:463',
    api: PAR,
    input: 'dbcc1',
    accept: hub('library/dbcc1', 'latest')
  },

  // --- normalize_test.go, TestNormalizedSplitHostname (ParseNormalizedNamed) -
  {
    from: 'normalize_test.go:504',
    api: PNN,
    input: 'test.com/foo',
    accept: at('test.com', 'foo', 'latest')
  },
  {
    from: 'normalize_test.go:509',
    api: PNN,
    input: 'test_com/foo',
    accept: hub('test_com/foo', 'latest')
  },
  {
    from: 'normalize_test.go:514',
    api: PNN,
    input: 'docker/migrator',
    accept: hub('docker/migrator', 'latest')
  },
  {
    from: 'normalize_test.go:519',
    api: PNN,
    input: 'test.com:8080/foo',
    accept: at('test.com:8080', 'foo', 'latest')
  },
  {
    from: 'normalize_test.go:524',
    api: PNN,
    input: 'test-com:8080/foo',
    accept: at('test-com:8080', 'foo', 'latest')
  },
  { from: 'normalize_test.go:529', api: PNN, input: 'foo', accept: hub('library/foo', 'latest') },
  {
    from: 'normalize_test.go:534',
    api: PNN,
    input: 'xn--n3h.com/foo',
    accept: at('xn--n3h.com', 'foo', 'latest')
  },
  {
    from: 'normalize_test.go:539',
    api: PNN,
    input: 'xn--n3h.com:18080/foo',
    accept: at('xn--n3h.com:18080', 'foo', 'latest')
  },
  {
    from: 'normalize_test.go:544',
    api: PNN,
    input: 'docker.io/foo',
    accept: hub('library/foo', 'latest')
  },
  {
    from: 'normalize_test.go:549',
    api: PNN,
    input: 'docker.io/library/foo',
    accept: hub('library/foo', 'latest')
  },
  {
    from: 'normalize_test.go:554',
    api: PNN,
    input: 'docker.io/library/foo/bar',
    accept: hub('library/foo/bar', 'latest')
  },

  // --- normalize_test.go, TestMatchError / TestMatch (the references parsed) -
  { from: 'normalize_test.go:580', api: PAR, input: 'foo', accept: hub('library/foo', 'latest') },
  { from: 'normalize_test.go:598', api: PAR, input: 'foo', accept: hub('library/foo', 'latest') },
  {
    from: 'normalize_test.go:603',
    api: PAR,
    input: 'foo/any/bat',
    accept: hub('foo/any/bat', 'latest')
  },
  {
    from: 'normalize_test.go:608',
    api: PAR,
    input: 'foo/a/bar',
    accept: hub('foo/a/bar', 'latest')
  },
  {
    from: 'normalize_test.go:613',
    api: PAR,
    input: 'foo/b/baz',
    accept: hub('foo/b/baz', 'latest')
  },
  {
    from: 'normalize_test.go:618',
    api: PAR,
    input: 'foo/c/baz:tag',
    accept: hub('foo/c/baz', 'tag')
  },
  {
    from: 'normalize_test.go:633',
    api: PAR,
    input: 'example.com/foo/c/baz:tag',
    accept: at('example.com', 'foo/c/baz', 'tag')
  },

  // --- normalize_test.go, TestParseDockerRef ---------------------------------
  {
    from: 'normalize_test.go:671',
    api: PDR,
    input: 'busybox',
    accept: hub('library/busybox', 'latest')
  },
  {
    from: 'normalize_test.go:676',
    api: PDR,
    input: 'busybox:latest',
    accept: hub('library/busybox', 'latest')
  },
  {
    from: 'normalize_test.go:681',
    api: PDR,
    input: `busybox@${DOCKER_REF}`,
    accept: hub('library/busybox', undefined, DOCKER_REF)
  },
  {
    from: 'normalize_test.go:686',
    api: PDR,
    input: 'library/busybox',
    accept: hub('library/busybox', 'latest')
  },
  {
    from: 'normalize_test.go:691',
    api: PDR,
    input: 'docker.io/busybox',
    accept: hub('library/busybox', 'latest')
  },
  {
    from: 'normalize_test.go:696',
    api: PDR,
    input: 'docker.io/library/busybox',
    accept: hub('library/busybox', 'latest')
  },
  {
    from: 'normalize_test.go:701',
    api: PDR,
    input: 'docker.io/busybox:latest',
    accept: hub('library/busybox', 'latest')
  },
  {
    from: 'normalize_test.go:706',
    api: PDR,
    input: 'library/busybox:latest',
    accept: hub('library/busybox', 'latest')
  },
  {
    from: 'normalize_test.go:711',
    api: PDR,
    input: 'docker.io/library/busybox:latest',
    accept: hub('library/busybox', 'latest')
  },
  {
    from: 'normalize_test.go:716',
    api: PDR,
    input: 'gcr.io/library/busybox',
    accept: at('gcr.io', 'library/busybox', 'latest')
  },
  {
    from: 'normalize_test.go:721',
    api: PDR,
    input: `gcr.io/library/busybox:latest@${DOCKER_REF}`,
    accept: at('gcr.io', 'library/busybox', 'latest', DOCKER_REF),
    differs:
      'ParseDockerRef drops the tag when there is a digest; this parser keeps both, as ParseNormalizedNamed ' +
      'does (normalize_test.go:338), so the mirrored copy is pushed under its tag and the digest pins what is copied.'
  },

  // --- regexp_test.go, TestDomainRegexp: the domain as the registry of <domain>/repo
  ...(
    [
      [44, 'test.com', at('test.com', 'repo', 'latest')],
      [48, 'test.com:10304', at('test.com:10304', 'repo', 'latest')],
      [52, 'test.com:http', /port "http"/],
      [56, 'localhost', at('localhost', 'repo', 'latest')],
      [60, 'localhost:8080', at('localhost:8080', 'repo', 'latest')],
      [68, 'a.b', at('a.b', 'repo', 'latest')],
      [72, 'ab.cd.com', at('ab.cd.com', 'repo', 'latest')],
      [76, 'a-b.com', at('a-b.com', 'repo', 'latest')],
      [80, '-ab.com', BAD_LABEL],
      [84, 'ab-.com', BAD_LABEL],
      [88, 'ab.c-om', at('ab.c-om', 'repo', 'latest')],
      [92, 'ab.-com', BAD_LABEL],
      [96, 'ab.com-', BAD_LABEL],
      [100, '0101.com', at('0101.com', 'repo', 'latest')],
      [104, '001a.com', at('001a.com', 'repo', 'latest')],
      [108, 'b.gbc.io:443', at('b.gbc.io:443', 'repo', 'latest')],
      [112, 'b.gbc.io', at('b.gbc.io', 'repo', 'latest')],
      [116, 'xn--n3h.com', at('xn--n3h.com', 'repo', 'latest')],
      [136, '[fd00:1:2::3]75050', /"\[" or "\]" out of place/],
      [140, '[fd00:1:2::3]::75050', /"\[" or "\]" out of place/],
      [144, '[fd00:1:2::3%eth0]:75050', /"%"/],
      [160, 'fd00:1:2::3:75050', /in square brackets/]
    ] as const
  ).map(([line, domain, expected]): Vector =>
    expected instanceof RegExp
      ? {
          from: `regexp_test.go:${line}`,
          api: 'DomainRegexp',
          input: `${domain}/repo`,
          reason: expected
        }
      : {
          from: `regexp_test.go:${line}`,
          api: 'DomainRegexp',
          input: `${domain}/repo`,
          accept: expected
        }
  ),
  {
    from: 'regexp_test.go:64',
    api: 'DomainRegexp',
    input: 'a/repo',
    accept: hub('a/repo', 'latest'),
    note:
      'The regexp matches "a" as a domain, but ParseNormalizedNamed, like this parser, takes a first component ' +
      'without "." or ":" (other than localhost) as a Docker Hub namespace.'
  },
  {
    from: 'regexp_test.go:120',
    api: 'DomainRegexp',
    input: 'Asdf.com/repo',
    accept: at('asdf.com', 'repo', 'latest'),
    differs: HOST_CASE
  },
  ...(
    [
      [124, '192.168.1.1:75050'],
      [128, '192.168.1.1:750050'],
      [132, '[fd00:1:2::3]:75050'],
      [152, '[2001:0db8:85a3:0000:0000:8a2e:0370:7334]:75050'],
      [156, '[2001:0db8:85a3:0000:0000:8a2e:0370:7334]:750505']
    ] as const
  ).map(([line, domain]): Vector => ({
    from: `regexp_test.go:${line}`,
    api: 'DomainRegexp',
    input: `${domain}/repo`,
    reason: BAD_PORT,
    differs: PORT_RANGE
  })),
  {
    from: 'regexp_test.go:148',
    api: 'DomainRegexp',
    input: '[fd00123123123]:75050/repo',
    reason:
      /"fd00123123123" is not an IPv6 address \(group "fd00123123123" has more than 4 hex digits\)/,
    differs:
      'The grammar allows any hex digits and ":" between the brackets (the vector\'s comment: "will fail in ' +
      'validation"); this project also checks that they form an IPv6 address, and the port range.'
  },

  // --- regexp_test.go, TestFullNameRegexp (a name alone) ---------------------
  ...(
    [
      [188, '', /empty/],
      [192, 'short', hub('library/short')],
      [197, 'simple/name', hub('simple/name')],
      [202, 'library/ubuntu', hub('library/ubuntu')],
      [207, 'docker/stevvooe/app', hub('docker/stevvooe/app')],
      [
        212,
        'aa/aa/aa/aa/aa/aa/aa/aa/aa/bb/bb/bb/bb/bb/bb',
        hub('aa/aa/aa/aa/aa/aa/aa/aa/aa/bb/bb/bb/bb/bb/bb')
      ],
      [217, 'aa/aa/bb/bb/bb', hub('aa/aa/bb/bb/bb')],
      [222, 'a/a/a/a', hub('a/a/a/a')],
      [227, 'a/a/a/a/', /ends with "\/"/],
      [231, 'a//a/a', /empty component/],
      [235, 'a', hub('library/a')],
      [240, 'a/aa', hub('a/aa')],
      [245, 'a/aa/a', hub('a/aa/a')],
      [250, 'foo.com', hub('library/foo.com')],
      [255, 'foo.com/', /ends with "\/"/],
      [259, 'foo.com:8080/bar', at('foo.com:8080', 'bar')],
      [264, 'foo.com:http/bar', /port "http"/],
      [268, 'foo.com/bar', at('foo.com', 'bar')],
      [273, 'foo.com/bar/baz', at('foo.com', 'bar/baz')],
      [278, 'localhost:8080/bar', at('localhost:8080', 'bar')],
      [283, 'sub-dom1.foo.com/bar/baz/quux', at('sub-dom1.foo.com', 'bar/baz/quux')],
      [288, 'blog.foo.com/bar/baz', at('blog.foo.com', 'bar/baz')],
      [293, 'a^a', /"\^"/],
      [297, 'aa/asdf$$^/aa', /"\$"/],
      [301, 'asdf$$^/aa', /"\$"/],
      [305, 'aa-a/a', hub('aa-a/a')],
      [315, 'a-/a/a/a', SEPARATOR],
      [319, 'foo.com/a-/a/a', SEPARATOR],
      [323, '-foo/bar', SEPARATOR],
      [327, 'foo/bar-', SEPARATOR],
      [331, 'foo-/bar', SEPARATOR],
      [335, 'foo/-bar', SEPARATOR],
      [339, '_foo/bar', SEPARATOR],
      [343, 'foo_bar', hub('library/foo_bar')],
      [348, 'foo_bar.com', hub('library/foo_bar.com')],
      [353, 'foo_bar.com:8080', /carries a tag or digest/],
      [357, 'foo_bar.com:8080/app', BAD_LABEL],
      [361, 'foo.com/foo_bar', at('foo.com', 'foo_bar')],
      [366, '____/____', SEPARATOR],
      [370, '_docker/_docker', SEPARATOR],
      [374, 'docker_/docker_', SEPARATOR],
      [378, 'b.gcr.io/test.example.com/my-app', at('b.gcr.io', 'test.example.com/my-app')],
      [383, 'xn--n3h.com/myimage', at('xn--n3h.com', 'myimage')],
      [388, 'xn--7o8h.com/myimage', at('xn--7o8h.com', 'myimage')],
      [393, 'example.com/xn--7o8h.com/myimage', at('example.com', 'xn--7o8h.com/myimage')],
      [
        398,
        'example.com/some_separator__underscore/myimage',
        at('example.com', 'some_separator__underscore/myimage')
      ],
      [403, 'example.com/__underscore/myimage', SEPARATOR],
      [407, 'example.com/..dots/myimage', SEPARATOR],
      [411, 'example.com/.dots/myimage', SEPARATOR],
      [415, 'example.com/nodouble..dots/myimage', SEPARATOR],
      [423, 'docker./docker', BAD_LABEL],
      [427, '.docker/docker', BAD_LABEL],
      [431, 'docker-/docker', SEPARATOR],
      [435, '-docker/docker', SEPARATOR],
      [439, 'do..cker/docker', BAD_LABEL],
      [443, 'do__cker:8080/docker', BAD_LABEL],
      [447, 'do__cker/docker', hub('do__cker/docker')],
      [
        457,
        'registry.io/foo/project--id.module--name.ver---sion--name',
        at('registry.io', 'foo/project--id.module--name.ver---sion--name')
      ],
      [466, 'Foo/FarB', UPPER]
    ] as const
  ).map(([line, input, expected]): Vector =>
    expected instanceof RegExp
      ? {
          from: `regexp_test.go:${line}`,
          api: 'NameRegexp',
          nameOnly: true,
          input,
          reason: expected
        }
      : {
          from: `regexp_test.go:${line}`,
          api: 'NameRegexp',
          nameOnly: true,
          input,
          accept: expected
        }
  ),
  {
    from: 'regexp_test.go:310',
    api: 'NameRegexp',
    nameOnly: true,
    input: 'a/'.repeat(128) + 'a',
    reason: TOO_LONG,
    note:
      'The regexp has no length limit and matches; WithName and ParseNormalizedNamed refuse the name ' +
      '(a 257-character path), as this parser does.'
  },
  {
    from: 'regexp_test.go:462',
    api: 'NameRegexp',
    nameOnly: true,
    input: 'Asdf.com/foo/bar',
    accept: at('asdf.com', 'foo/bar'),
    differs: HOST_CASE
  },

  // --- regexp_test.go, TestReferenceRegexp -----------------------------------
  {
    from: 'regexp_test.go:487',
    api: 'ReferenceRegexp',
    input: 'registry.com:8080/myapp:tag',
    accept: at('registry.com:8080', 'myapp', 'tag')
  },
  {
    from: 'regexp_test.go:492',
    api: 'ReferenceRegexp',
    input: `registry.com:8080/myapp@${MYAPP}`,
    accept: at('registry.com:8080', 'myapp', undefined, MYAPP)
  },
  {
    from: 'regexp_test.go:497',
    api: 'ReferenceRegexp',
    input: `registry.com:8080/myapp:tag2@${MYAPP}`,
    accept: at('registry.com:8080', 'myapp', 'tag2', MYAPP)
  },
  {
    from: 'regexp_test.go:502',
    api: 'ReferenceRegexp',
    input: 'registry.com:8080/myapp@sha256:badbadbadbad',
    reason: /12 hex digits; sha256 takes exactly 64/
  },
  {
    from: 'regexp_test.go:506',
    api: 'ReferenceRegexp',
    input: 'registry.com:8080/myapp:invalid~tag',
    reason: /"~"/
  },
  {
    from: 'regexp_test.go:510',
    api: 'ReferenceRegexp',
    input: 'bad_hostname.com:8080/myapp:tag',
    reason: BAD_LABEL
  },
  {
    from: 'regexp_test.go:515',
    api: 'ReferenceRegexp',
    input: `localhost:8080@${MYAPP}`,
    accept: hub('library/localhost', '8080', MYAPP),
    note: 'With no "/", "localhost" is the image name and 8080 its tag, as the vector says.'
  },
  {
    from: 'regexp_test.go:520',
    api: 'ReferenceRegexp',
    input: `localhost:8080/name@${MYAPP}`,
    accept: at('localhost:8080', 'name', undefined, MYAPP)
  },
  {
    from: 'regexp_test.go:525',
    api: 'ReferenceRegexp',
    input: `localhost:http/name@${MYAPP}`,
    reason: /port "http"/
  },
  {
    from: 'regexp_test.go:530',
    api: 'ReferenceRegexp',
    input: `localhost@${MYAPP}`,
    accept: hub('library/localhost', undefined, MYAPP)
  },
  {
    from: 'regexp_test.go:535',
    api: 'ReferenceRegexp',
    input: 'registry.com:8080/myapp@bad',
    reason: /has no algorithm/
  },
  {
    from: 'regexp_test.go:539',
    api: 'ReferenceRegexp',
    input: 'registry.com:8080/myapp@2bad',
    reason: /has no algorithm/
  },

  // --- regexp_test.go, TestIdentifierRegexp, read as references ---------------
  {
    from: 'regexp_test.go:560',
    api: 'IdentifierRegexp',
    input: HEX_DA30,
    reason: IMAGE_ID,
    note: 'An identifier: ParseNormalizedNamed refuses it as a name, as this parser does.'
  },
  {
    from: 'regexp_test.go:564',
    api: 'IdentifierRegexp',
    input: '7EC43B381E5AEFE6E04EFB0B3F0693FF2A4A50652D64AEC573905F2DB5889A1C',
    reason: IMAGE_ID,
    note:
      'Not an identifier (upper case), but ParseNormalizedNamed refuses it for its upper case; ' +
      'this parser refuses it too, and names it as the image ID it looks like.'
  },
  {
    from: 'regexp_test.go:568',
    api: 'IdentifierRegexp',
    input: HEX_DA30.slice(0, 60),
    accept: hub(`library/${HEX_DA30.slice(0, 60)}`, 'latest'),
    note: 'Not an identifier (60 digits): a repository name, as in the library.'
  },
  {
    from: 'regexp_test.go:572',
    api: 'IdentifierRegexp',
    input: `sha256:${HEX_DA30}`,
    reason: DIGEST_ALONE,
    differs: DIGEST_PASTE
  },
  {
    from: 'regexp_test.go:576',
    api: 'IdentifierRegexp',
    input: `${HEX_DA30}8482`,
    accept: hub(`library/${HEX_DA30}8482`, 'latest'),
    note: 'Not an identifier (68 digits): a repository name, as in the library.'
  }
]

function show(input: string): string {
  const text = input.length > 72 ? `${input.slice(0, 48)}… (${input.length} chars)` : input
  return JSON.stringify(text)
}

function title(v: Vector): string {
  const normal = v.accept && (v.nameOnly ? repositoryName(v.accept) : formatReference(v.accept))
  const outcome = normal
    ? `accepted as ${normal.length > 90 ? `${normal.slice(0, 80)}…` : normal}`
    : 'refused'
  return `${v.from} ${v.api} ${show(v.input)} → ${outcome}${v.differs ? ' [differs from the library]' : ''}`
}

const count = (file: File): number => VECTORS.filter(v => v.from.startsWith(`${file}:`)).length

describe('distribution/reference test vectors', () => {
  test(
    `the table holds ${VECTORS.length} vectors: ${count('reference_test.go')} from reference_test.go, ` +
      `${count('normalize_test.go')} from normalize_test.go, ${count('regexp_test.go')} from regexp_test.go`,
    () => {
      expect(VECTORS.length).toBeGreaterThanOrEqual(250)
      // Each vector is cited once, by file and line.
      const froms = VECTORS.map(v => v.from)
      expect(new Set(froms).size).toBe(froms.length)
      for (const v of VECTORS) {
        expect(v.from).toMatch(/^(?:reference|normalize|regexp)_test\.go:[1-9][0-9]*$/)
        // Accepted or refused, never both; a difference always says why.
        expect(v.accept === undefined).toBe(v.reason !== undefined)
        if (v.differs !== undefined) expect(v.differs.length).toBeGreaterThan(40)
      }
    }
  )

  test.each(VECTORS.map(v => [title(v), v] as const))('%s', (_title, v) => {
    const parsed = v.nameOnly ? parseRepositoryName(v.input) : parseReference(v.input)
    if (v.accept) {
      if (!parsed.ok) throw new Error(`refused: ${parsed.reason}`)
      expect(parsed.ref).toEqual(v.accept)
      // The normal form reads back as itself.
      if (!v.nameOnly) {
        const again = parseReference(formatReference(parsed.ref))
        expect(again.ok && again.ref).toEqual(v.accept)
      }
    } else {
      if (parsed.ok) throw new Error(`accepted as ${formatReference(parsed.ref)}`)
      expect(parsed.reason).toMatch(v.reason as RegExp)
      // A suggestion, when there is one, is itself a valid reference.
      if (!v.nameOnly && 'suggestion' in parsed && parsed.suggestion !== undefined) {
        expect(parseReference(parsed.suggestion).ok).toBe(true)
      }
    }
  })

  test('image IDs and pasted digests get no suggestion that reads them as a name', () => {
    for (const v of VECTORS.filter(c => c.reason === IMAGE_ID || c.reason === DIGEST_ALONE)) {
      const parsed = parseReference(v.input)
      expect(parsed).toMatchObject({ ok: false })
      expect(!parsed.ok && parsed.suggestion).toBeUndefined()
    }
  })
})
