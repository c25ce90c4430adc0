import { describe, expect, test } from '@jest/globals'
import { mergeDuplicates, parseEntries, parseEntry } from '../src/image/entries.js'
import { compileTagFilter } from '../src/image/tag-filter.js'
import { formatReference } from '../src/image/references.js'

const at = { source: 'images', line: 1 }

function summarise(text: string): string[] {
  return parseEntries(text, 'images').map(r =>
    r.kind === 'image'
      ? `image ${formatReference(r.ref)} @${r.origin.line}`
      : r.kind === 'tag-filter'
        ? `filter ${r.ref.registry}/${r.ref.repository} ${r.policy} @${r.origin.line}`
        : `invalid @${r.origin.line}: ${r.reason}`
  )
}

describe('parseEntries', () => {
  test('comments, blank lines, CRLF and inline comments', () => {
    expect(
      summarise('# header\r\n\r\n  nginx:1.27   # pinned\r\n\t\n#alpine\nalpine#not-a-comment')
    ).toEqual([
      'image docker.io/library/nginx:1.27 @3',
      'invalid @6: the reference contains "#" (U+0023) at position 7, which no image reference may contain'
    ])
  })

  test('a comma list gives one request per tag, all with the line as written', () => {
    const requests = parseEntries('docker.io/library/nginx:1.27, 1.26 ,latest', 'images')
    expect(requests.map(r => (r.kind === 'image' ? r.ref.tag : r.kind))).toEqual([
      '1.27',
      '1.26',
      'latest'
    ])
    expect(new Set(requests.map(r => r.request))).toEqual(
      new Set(['docker.io/library/nginx:1.27, 1.26 ,latest'])
    )
  })

  test('a bad tag in a list rejects that tag only', () => {
    expect(summarise('nginx:1.27,-bad,,latest')).toEqual([
      'image docker.io/library/nginx:1.27 @1',
      'invalid @1: in the tag list: tag "-bad" starts with "-"; a tag starts with a letter, digit or "_"',
      'invalid @1: in the tag list: tag 3 of the list is empty',
      'image docker.io/library/nginx:latest @1'
    ])
  })

  test('tag lists with a digest, without a tag, or with a bad name are refused whole', () => {
    expect(summarise(`nginx@sha256:${'a'.repeat(64)},1.2`)[0]).toMatch(/cannot carry a digest/)
    expect(summarise('nginx,alpine')[0]).toMatch(/a comma separates tags/)
    expect(summarise('localhost:5000/a,b')[0]).toMatch(/a comma separates tags/)
    expect(summarise('NGINX:1,2')).toEqual([
      'invalid @1: "NGINX" has upper-case letters; repository names are lower case'
    ])
  })

  test('tag filters: parsed, validated, never expanded here', () => {
    expect(summarise('docker.io/library/alpine:/^3\\.2\\d$/')).toEqual([
      'filter docker.io/library/alpine /^3\\.2\\d$/ @1'
    ])
    expect(summarise('localhost:5000/team/app:/^v[0-9]+,x$/')).toEqual([
      'filter localhost:5000/team/app /^v[0-9]+,x$/ @1'
    ])
    expect(summarise('alpine:/^(3\\.2/')[0]).toMatch(
      /tag filter \/\^\(3\\\.2\/ is not a valid regular expression/
    )
    expect(summarise(`alpine:/${'a'.repeat(300)}/`)[0]).toMatch(/is 300 characters long/)
    expect(summarise('alpine:1.2:/x/')[0]).toMatch(/invalid/)
    expect(summarise('alpine:/^(3)\\.\\1$/')[0]).toMatch(
      /^invalid @1: tag filter \/\^\(3\)\\\.\\1\$\/ uses a backreference/
    )
  })

  test('tag policies: semver ranges, newest N, exclusions, beside the other forms', () => {
    expect(
      summarise(
        [
          'nginx:semver(>=1.26 <2)   # every 1.x from 1.26',
          'docker.io/library/nginx:semver(^1.26) newest(3) exclude(/-rc/)',
          'localhost:5000/team/app:newest(5) prereleases',
          'ghcr.io/acme/app:/^v1\\./ newest(2) exclude(v1.4.0, v1.4.1)',
          'nginx:1.27,1.26',
          'nginx:semver(>=1.26) newest(0)',
          'nginx:semver(banana)',
          'nginx:exclude(latest)'
        ].join('\n')
      )
    ).toEqual([
      'filter docker.io/library/nginx semver(>=1.26 <2) @1',
      'filter docker.io/library/nginx semver(^1.26) newest(3) exclude(/-rc/) @2',
      'filter localhost:5000/team/app newest(5) prereleases @3',
      'filter ghcr.io/acme/app /^v1\\./ newest(2) exclude(v1.4.0, v1.4.1) @4',
      'image docker.io/library/nginx:1.27 @5',
      'image docker.io/library/nginx:1.26 @5',
      'invalid @6: tag policy newest(0): N must be a whole number from 1 to 1000',
      expect.stringMatching(/^invalid @7: tag policy semver\(banana\) is not a range/),
      expect.stringMatching(/^invalid @8: tag policy selects nothing/)
    ])
  })

  test('tags that read like flags are tags: repo:loose, repo:prereleases', () => {
    expect(summarise('nginx:loose\nnginx:prereleases\nnginx:prereleases newest(2)')).toEqual([
      'image docker.io/library/nginx:loose @1',
      'image docker.io/library/nginx:prereleases @2',
      'filter docker.io/library/nginx prereleases newest(2) @3'
    ])
  })

  test('the same policy written twice is merged; another policy of the repository is not', () => {
    const { unique, merged } = mergeDuplicates(
      parseEntries(
        'nginx:semver( >=1.26 )  newest(3)\ndocker.io/library/nginx:semver(>=1.26) newest(3)\nnginx:semver(>=1.26)',
        'images'
      )
    )
    expect(unique).toHaveLength(2)
    expect(merged).toHaveLength(1)
  })

  test('entries are only parsed, so a huge list stays linear', () => {
    const text = Array.from({ length: 20000 }, (_, i) => `ghcr.io/org/app${i}:v${i}`).join('\n')
    expect(parseEntries(text, 'images')).toHaveLength(20000)
  })
})

describe('parseEntry', () => {
  test('keeps a Docker Hub page note', () => {
    const [request] = parseEntry('https://hub.docker.com/_/nginx', at)
    expect(request?.kind === 'image' && request.note).toMatch(/read the Docker Hub page/)
  })

  test('a suggestion travels with an invalid entry', () => {
    const [request] = parseEntry('docker pull nginx:1.27', at)
    expect(request).toMatchObject({ kind: 'invalid', suggestion: 'docker.io/library/nginx:1.27' })
  })
})

describe('a tag filter’s pattern (compileTagFilter, which entries and policies use)', () => {
  test.each([
    ['^v1\\.', undefined],
    ['(', /not a valid regular expression/],
    ['[z-a]', /not a valid regular expression/],
    // Runs on RE2 in linear time, so the classic catastrophic pattern is harmless.
    ['^(\\d+\\.?)+$', undefined],
    ['^(\\d)\\1$', /uses a backreference \(\\1\), which tag filters cannot use/],
    ['^v(?!1\\.)', /uses a lookahead .*rewrite it without lookaround/],
    ['a'.repeat(257), /is 257 characters long; a tag filter is at most 256/]
  ])('%s', (pattern, expected) => {
    const filter = compileTagFilter(pattern)
    const problem = filter.ok ? undefined : filter.reason
    if (expected === undefined) expect(problem).toBeUndefined()
    else expect(problem).toMatch(expected)
  })
})

describe('mergeDuplicates', () => {
  test('the same image written three ways is one request', () => {
    const requests = parseEntries(
      'nginx\ndocker.io/library/nginx:latest\nindex.docker.io/nginx\nnginx:1.27',
      'images'
    )
    const { unique, merged } = mergeDuplicates(requests)
    expect(unique.map(r => r.origin.line)).toEqual([1, 4])
    expect(merged.map(m => [m.duplicate.origin.line, m.kept.origin.line])).toEqual([
      [2, 1],
      [3, 1]
    ])
  })

  test('tag and digest forms are different requests; invalid lines are never merged', () => {
    const digest = `sha256:${'c'.repeat(64)}`
    const requests = parseEntries(`nginx@${digest}\nnginx:1@${digest}\nBAD\nBAD`, 'images')
    expect(mergeDuplicates(requests).unique).toHaveLength(4)
  })
})

describe('URLs are never tag filters', () => {
  test.each([
    [
      'https://hub.docker.com/r/bitnami/postgresql/',
      'image docker.io/bitnami/postgresql:latest @1'
    ],
    ['https://ghcr.io/org/app/', /^invalid @1: .*URL scheme/]
  ])('%s', (entry, expected) => {
    const [only] = summarise(entry)
    if (typeof expected === 'string') expect(only).toBe(expected)
    else expect(only).toMatch(expected)
  })
})
