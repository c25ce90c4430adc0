/**
 * The allowlist, against DaoCloud's real allows.txt (__fixtures__/README.md
 * says where it comes from) and small lists made for one point each.
 */
import { describe, expect, test } from '@jest/globals'
import { AllowlistError, parseAllowlist, type Allowlist } from '../src/allowlist/allowlist.js'
import { parseReference, parseRepositoryName } from '../src/image/references.js'
import { readFixture } from '../__fixtures__/action-runner.js'

const TEXT = readFixture('allowlist-daocloud.txt')
const daocloud = parseAllowlist(TEXT, 'allows.txt')

/** What the allowlist says of an image as a user would write it; undefined when it cannot parse. */
function allows(list: Allowlist, image: string): string | undefined | false {
  const parsed = parseReference(image)
  if (!parsed.ok) return false
  return list.match(parsed.ref)?.text
}

describe("DaoCloud's allows.txt", () => {
  test('loads whole: every line is a pattern', () => {
    const lines = TEXT.split('\n').filter(l => l.trim() !== '')
    expect(daocloud.patterns).toHaveLength(lines.length)
    expect(daocloud.patterns.length).toBe(1321)
  })

  test('every line allows what it names, and * stays one segment deep', () => {
    for (const p of daocloud.patterns) {
      const base = p.text.replace(/\/\*\*?$/, '')
      if (p.kind === 'exact') {
        expect(allows(daocloud, base)).toBe(p.text)
        continue
      }
      const host = !base.includes('/')
      // docker.io/* means docker.io/<one segment>, which no normalised Docker Hub name is.
      if (base === 'docker.io') continue
      expect(daocloud.match(parsed(`${base}/sample-x`))).toBeDefined()
      if (p.kind === 'any') {
        expect(daocloud.match(parsed(`${base}/a/b/c`))).toBeDefined()
      } else if (!host) {
        // Deeper names are allowed only when another line covers them.
        const deeper = daocloud.match(parsed(`${base}/zz-not-listed/deeper`))
        if (deeper) expect(deeper.kind).toBe('any')
      }
    }
  })

  test.each([
    ['nginx', 'docker.io/library/nginx'],
    ['docker.io/library/nginx:1.27', 'docker.io/library/nginx'],
    ['index.docker.io/library/alpine:3.20', 'docker.io/library/alpine'],
    ['gcr.io/distroless/static:nonroot', 'gcr.io/**'],
    ['gcr.io/a/b/c/d', 'gcr.io/**'],
    ['GCR.IO/x/y', 'gcr.io/**'],
    ['registry.k8s.io/pause:3.10', 'registry.k8s.io/**'],
    ['quay.io/prometheus/node-exporter', 'quay.io/prometheus/*'],
    ['docker.io/alpine/git', 'docker.io/alpine/*']
  ])('%s is allowed by %s', (image, line) => {
    expect(allows(daocloud, image)).toBe(line)
  })

  test.each([
    // docker.io/* does not cover library images, exactly as DaoCloud's checker reads it.
    'docker.io/library/not-listed-image-xyz',
    'not-listed-image-xyz',
    'docker.io/alpine/a/b',
    'docker.io.evil.com/library/nginx',
    'docker.io.evil.com/gcr.io/x',
    'gcr.io.evil.com/x',
    'evilgcr.io/x',
    'gcr.io-evil.com/x',
    'k8s.gcr.io.evil.com/x',
    'registry.k8s.io.evil.com/pause',
    'registry.k8s.io:5000/pause',
    'quay.io/prometheus-evil/x',
    'quay.io/prometheusx/x',
    'quay.io/prometheus',
    'quay.io/prometheus/node-exporter/deeper',
    'evil.com/docker.io/library/nginx',
    'localhost:5000/docker.io/library/nginx',
    'docker.io/library/nginx-evil'
  ])('%s is not allowed', image => {
    expect(allows(daocloud, image)).toBeUndefined()
  })

  test.each([
    'gcr.io./x', // trailing dot: another name for the host, refused by the parser
    'g\u0441r.io/x', // Cyrillic с
    'd\u043ecker.io/library/nginx', // Cyrillic о
    'docker.io/library/NGINX',
    'docker.io/Library/nginx',
    'user@gcr.io/x',
    'gcr.io%2Fx/y',
    'gcr.io/x/../../evil.com/y',
    'gcr.io\\x'
  ])('%j never reaches the allowlist: the parser refuses it', image => {
    expect(allows(daocloud, image)).toBe(false)
  })

  test('matching scales: 100,000 lookups against 1,321 patterns', () => {
    const names = ['nginx', 'gcr.io/a/b', 'docker.io/x/y', 'ghcr.io/o/p/q', 'evil.com/a'].map(
      parsed
    )
    let hits = 0
    for (let i = 0; i < 100_000; i++) if (daocloud.match(names[i % names.length]!)) hits++
    expect(hits).toBe(40_000)
  })
})

function parsed(name: string) {
  const p = parseRepositoryName(name)
  if (!p.ok) throw new Error(`${name}: ${p.reason}`)
  return p.ref
}

describe('allowlist format', () => {
  test('comments, blank lines, CRLF, names without a registry', () => {
    const list = parseAllowlist(
      '# mirrors\r\n\r\nnginx  # official\r\nbitnami/*\r\nprom/**\n',
      'a.txt'
    )
    expect(list.patterns.map(p => [p.kind, p.prefix, p.line])).toEqual([
      ['exact', 'docker.io/library/nginx', 3],
      ['one', 'docker.io/bitnami', 4],
      ['any', 'docker.io/prom', 5]
    ])
    expect(allows(list, 'bitnami/redis')).toBe('bitnami/*')
    expect(allows(list, 'prom/a/b')).toBe('prom/**')
    expect(allows(list, 'library/nginx')).toBe('nginx')
  })

  test('registry aliases and host case are normalised in patterns', () => {
    const list = parseAllowlist(
      'index.docker.io/library/nginx\nGHCR.IO/org/*\nregistry-1.docker.io/x/**',
      'a.txt'
    )
    expect(list.patterns.map(p => p.prefix)).toEqual([
      'docker.io/library/nginx',
      'ghcr.io/org',
      'docker.io/x'
    ])
    expect(allows(list, 'ghcr.io/org/app')).toBe('GHCR.IO/org/*')
  })

  test('a host-only wildcard covers that host only', () => {
    const list = parseAllowlist('localhost:5000/**\nquay.io/*', 'a.txt')
    expect(allows(list, 'localhost:5000/a/b')).toBe('localhost:5000/**')
    expect(allows(list, 'localhost:5001/a')).toBeUndefined()
    expect(allows(list, 'quay.io/a')).toBe('quay.io/*')
    expect(allows(list, 'quay.io/a/b')).toBeUndefined()
  })

  test('invalid lines are errors naming the file and every bad line', () => {
    const text = 'nginx\ndocker.io/**/x\nghcr.io/Org/app\nnginx:latest\nquay.io/a*\ngcr.io/***\n'
    expect(() => parseAllowlist(text, 'allows.txt')).toThrow(AllowlistError)
    let message = ''
    try {
      parseAllowlist(text, 'allows.txt')
    } catch (e) {
      message = (e as Error).message
    }
    expect(message).toMatch(/^allowlist has 5 invalid line\(s\):/)
    expect(message).toMatch(
      /allows\.txt line 2: "docker\.io\/\*\*\/x": "\*" and "\*\*" may only stand as the last path segment/
    )
    expect(message).toMatch(/allows\.txt line 3: .*upper-case/)
    expect(message).toMatch(/allows\.txt line 4: .*carries a tag or digest/)
    expect(message).toMatch(/allows\.txt line 5:/)
    expect(message).toMatch(/allows\.txt line 6:/)
  })
})
