/**
 * Sync files as images-file (issue 20): skopeo sync's and regsync's own documentation
 * examples (__fixtures__/sync-files/, sources in their headers), read into requests line by
 * line; what the action does not take from a file is a rejected line saying what to use
 * instead. sync-files.e2e runs both tools and the action on the same registries.
 */
import { describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ImageRequest } from '../src/image/entries.js'
import { formatReference, repositoryName } from '../src/image/references.js'
import { isSyncFile, parseSyncFile } from '../src/image/sync-files.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const fixture = (name: string) =>
  fs.readFileSync(path.join(here, '..', '__fixtures__', 'sync-files', name), 'utf8')

/** A request in one line: what it asks for, or why it was refused, and its line. */
function said(r: ImageRequest): string {
  if (r.kind === 'image') return `${r.origin.line}: ${formatReference(r.ref)}`
  if (r.kind === 'tag-filter') return `${r.origin.line}: ${repositoryName(r.ref)} ${r.policy}`
  return `${r.origin.line}: refused ${r.request}: ${r.reason}`
}

describe("skopeo sync's file", () => {
  it('its documentation example: every image it names, every setting it cannot honour named', () => {
    const requests = parseSyncFile(fixture('skopeo-sync.yml'), 'sync.yml').map(said)
    expect(requests).toEqual([
      '6: registry.example.com/busybox /.*/',
      '8: registry.example.com/redis:1.0',
      '9: registry.example.com/redis:2.0',
      '10: registry.example.com/redis@sha256:0000000000000000000000000000000011111111111111111111111111111111',
      '12: registry.example.com/nginx /^1\\.13\\.[12]-alpine-perl$/',
      '14: registry.example.com/alpine semver(>= 3.12.0) loose',
      expect.stringMatching(
        /^15: refused registry.example.com credentials: credentials are refused in a sync file \(a secret in the repository\): give them to the action as a docker config or its username and password inputs/
      ),
      expect.stringMatching(
        /^19: refused registry.example.com cert-dir: \/home\/john\/certs: cert-dir is not read/
      ),
      expect.stringMatching(
        /^21: refused quay.io tls-verify: false: tls-verify is not read from the file: list quay.io in the insecure-registries input/
      ),
      '24: quay.io/coreos/etcd:latest'
    ])
    // The secret itself is never repeated.
    expect(requests.join('\n')).not.toContain('this is a secret')
  })

  it('a comma in a semver constraint is "and"; a bad regex or range is named at its line', () => {
    const text = [
      'r.io:',
      '  images-by-semver:',
      '    a: ">= 1.2, < 2"',
      '    b: "banana"',
      '    d: ">=3.20) exclude(3.20.1"',
      '  images-by-tag-regex:',
      '    c: "^(a"',
      '  images-per-day: 3'
    ].join('\n')
    expect(parseSyncFile(text, 's.yml').map(said)).toEqual([
      '3: r.io/a semver(>= 1.2, < 2) loose',
      expect.stringMatching(
        /^4: refused r.io\/b:semver\(banana\) loose: tag policy semver\(banana\) is not a range/
      ),
      // A ")" would end the range and start clauses skopeo never saw: refused, as skopeo does.
      expect.stringMatching(
        /^5: refused r.io\/d images-by-semver >=3.20\) exclude\(3.20.1: skopeo refuses a range holding "\)"/
      ),
      expect.stringMatching(
        /^7: refused r.io\/c:\/\^\(a\/: tag filter \/\^\(a\/ is not a valid regular expression/
      ),
      expect.stringMatching(
        /^8: refused r.io images-per-day: 3: "images-per-day" is not a skopeo sync setting/
      )
    ])
  })
})

describe("regsync's file", () => {
  it('its documentation example: images, repositories with their allow lists anchored as regsync does', () => {
    const requests = parseSyncFile(fixture('regsync.yml'), 'regsync.yml').map(said)
    expect(requests).toEqual([
      expect.stringMatching(/^19: refused creds: creds are refused in a sync file/),
      '26: refused defaults ratelimit:: defaults.ratelimit is not read from the file: use the pull-reserve input (the action reads the pull budget from the registry)',
      '29: refused defaults parallel: 2: defaults.parallel is not read from the file: use the concurrency input',
      "30: refused defaults interval: 60m: defaults.interval is not read from the file: use the workflow's schedule",
      '31: refused defaults backup: bkup-{{.Ref.Tag}}: defaults.backup is not read from the file: the action never moves a tag aside to keep an old image',
      expect.stringMatching(
        /^34: refused busybox:latest target: registry:5000\/library\/busybox:latest: target is not read from the file: the mirrored name comes from the action's target and rewrite inputs/
      ),
      '33: docker.io/library/busybox:latest',
      expect.stringMatching(
        /^37: refused alpine target: registry:5000\/library\/alpine: target is not read/
      ),
      '36: docker.io/library/alpine /(?:^latest$)/',
      '36: docker.io/library/alpine /(?:^3$)/',
      '36: docker.io/library/alpine /(?:^3.\\d+$)/',
      expect.stringMatching(/^45: refused debian target: /),
      '50: refused debian mediaTypes:: mediaTypes is not read from the file: every image and index media type is copied',
      '44: docker.io/library/debian /(?:^\\d+$)/',
      expect.stringMatching(/^58: refused ghcr.io\/regclient\/regctl:latest target: /),
      '57: ghcr.io/regclient/regctl:latest'
    ])
  })

  it('anchors are merged into entries; each allowed pattern with every deny; semverRange read as regsync reads it', () => {
    const text = [
      'version: 1',
      'x-hub: &hub',
      '  type: repository',
      '  tags:',
      '    deny: ["3.1\\\\d?"]',
      'sync:',
      '  - <<: *hub',
      '    source: r.io/alpine',
      '  - <<: *hub',
      '    source: r.io/busybox',
      '    tags:',
      '      allow: ["1\\\\..*", "latest"]',
      '      deny: [1.36.0]',
      '  - source: r.io/debian',
      '    type: repository',
      '    tags:',
      '      semverRange: [">=1.0.0 <2.0.0", "", ~3.1]',
      '  - source: r.io/redis',
      '    type: repository',
      '    tags:',
      '      allow: ["7.*"]',
      '      semverRange: [">=7"]',
      '  - source: r.io/nginx',
      '    type: repository',
      '    tags:',
      '      semverRange: [">=1.26 || <1"]',
      '  - source: r.io/caddy',
      '    type: repository',
      '    tags:',
      '      semverRange: ["1.x"]',
      '  - source: r.io/redis',
      '    type: repository',
      '    tags:',
      '      semverRange: ["  "]'
    ].join('\n')
    expect(parseSyncFile(text, 'r.yml').map(said)).toEqual([
      '8: r.io/alpine /.*/ exclude(/(?:^3.1\\d?$)/)',
      // The entry's own `tags` replaces the merged one, as YAML merges keys.
      '10: r.io/busybox /(?:^1\\..*$)/ exclude(/(?:^1.36.0$)/)',
      '10: r.io/busybox /(?:^latest$)/ exclude(/(?:^1.36.0$)/)',
      // Its items ORed (the empty one skipped, as regsync skips it), read by regsync's rules.
      '14: r.io/debian semver(>=1.0.0 <2.0.0 || ~3.1) regsync',
      '18: r.io/redis /(?:^7.*$)/ semver(>=7) regsync',
      // regsync knows no || or x-ranges: it would fail the entry; the action names it.
      expect.stringMatching(
        /^25: refused r.io\/nginx tags.semverRange >=1.26 \|\| <1: regsync refuses this range \("\|\|" is not a comparator regsync reads .*\); the entry is left out$/
      ),
      expect.stringMatching(
        /^29: refused r.io\/caddy tags.semverRange 1.x: regsync refuses this range \("1.x" is not a comparator/
      ),
      // Only "" is skipped: regsync fails an entry whose item is white space, so it is refused.
      expect.stringMatching(
        /^33: refused r.io\/redis tags.semverRange {3}: regsync refuses this range \(an empty range\)/
      )
    ])
  })

  it('numbers are read as written (7.10 is not 7.1); a malformed entry is refused, never every tag', () => {
    const text = [
      'version: 1',
      'sync:',
      '  - source: r.io/redis',
      '    type: repository',
      '    tags:',
      '      allow: [7.10, 07]',
      '  - source: r.io/a',
      '    type: repository',
      '    tags:',
      '      allow: "v1\\\\..*"',
      '  - source: r.io/b',
      '    type: repository',
      '    tags: latest',
      '  - source: r.io/c:1'
    ].join('\n')
    expect(parseSyncFile(text, 'r.yml').map(said)).toEqual([
      '3: r.io/redis /(?:^7.10$)/',
      '3: r.io/redis /(?:^07$)/',
      expect.stringMatching(
        /^9: refused r.io\/a tags.allow: tags.allow is a list of strings .*; the entry is left out/
      ),
      expect.stringMatching(
        /^13: refused r.io\/b tags: tags is a mapping .*; the entry is left out/
      ),
      expect.stringMatching(/^14: refused r.io\/c:1: a sync entry needs its type/)
    ])
    expect(parseSyncFile('r.io:\n  images:\n    redis: [7.10, 1.0]\n', 's.yml').map(said)).toEqual([
      '3: r.io/redis:7.10',
      '3: r.io/redis:1.0'
    ])
  })

  it('a refusal shows at most 80 characters of the value it refuses', () => {
    const long = `>=1 ${'x'.repeat(200)}`
    const text = `version: 1\nsync:\n  - source: r.io/a\n    type: repository\n    tags:\n      semverRange: ["${long}"]\n`
    const [only] = parseSyncFile(text, 'r.yml')
    expect(only?.kind).toBe('invalid')
    expect(only?.request).toBe(`r.io/a tags.semverRange ${long.slice(0, 80)}…`)
  })

  it('a file that is not YAML, or not a mapping, is one refused line saying so', () => {
    expect(parseSyncFile('a: [1, 2\n', 'x.yml').map(said)).toEqual([
      expect.stringMatching(/^\d+: refused x.yml: not a YAML file the action can read/)
    ])
    expect(parseSyncFile('- a\n- b\n', 'x.yml').map(said)).toEqual([
      expect.stringMatching(/^1: refused x.yml: a sync file is a YAML mapping/)
    ])
  })

  it('aliases are bounded: a "billion laughs" file is refused, not expanded', () => {
    const lines = ['version: 1', 'a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    for (let i = 0; i < 8; i++) {
      const letter = String.fromCharCode(98 + i)
      const prev = String.fromCharCode(97 + i)
      lines.push(`${letter}: &${letter} [${Array(10).fill(`*${prev}`).join(',')}]`)
    }
    lines.push('sync: [*i]')
    const started = Date.now()
    const out = parseSyncFile(lines.join('\n'), 'bomb.yml').map(said)
    expect(Date.now() - started).toBeLessThan(2000)
    expect(out[0]).toMatch(/refused bomb.yml: not a YAML file the action can read: .*alias/i)
  })
})

describe('which files are sync files', () => {
  it('.yaml and .yml, any case', () => {
    expect(['a.yml', 'b.YAML', 'images.txt', 'sync.yml.txt'].map(isSyncFile)).toEqual([
      true,
      true,
      false,
      false
    ])
  })
})
