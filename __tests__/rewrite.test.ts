import { describe, expect, test } from '@jest/globals'
import fc from 'fast-check'
import { parseReference, type ImageReference } from '../src/image/references.js'
import {
  DEFAULT_TEMPLATE,
  checkTemplate,
  findCollisions,
  isOneToOne,
  registrySegment,
  renderTarget,
  targetReference
} from '../src/image/rewrite.js'

function ref(text: string): ImageReference {
  const parsed = parseReference(text)
  if (!parsed.ok) throw new Error(parsed.reason)
  return parsed.ref
}

describe('renderTarget', () => {
  test.each([
    [DEFAULT_TEMPLATE, 'nginx', 'registry.example.com/mirror/docker.io/library/nginx'],
    [
      DEFAULT_TEMPLATE,
      'registry.k8s.io/pause',
      'registry.example.com/mirror/registry.k8s.io/pause'
    ],
    [DEFAULT_TEMPLATE, 'localhost:5000/a/b', 'registry.example.com/mirror/localhost_5000/a/b'],
    ['{target}/{namespace}/{name}', 'registry.k8s.io/pause', 'registry.example.com/mirror/pause'],
    ['{target}/{namespace}/{name}', 'quay.io/a/b/c', 'registry.example.com/mirror/a/b/c'],
    ['{target}/{name}', 'ghcr.io/org/app', 'registry.example.com/mirror/app'],
    [
      '{target}/{registry}.{name}',
      'registry.k8s.io/kube-apiserver',
      'registry.example.com/mirror/registry.k8s.io.kube-apiserver'
    ],
    ['ghcr.io/acme/{registry}/{repository}', 'nginx', 'ghcr.io/acme/docker.io/library/nginx']
  ])('%s with %s', (template, source, expected) => {
    const rendered = renderTarget(template, 'registry.example.com/mirror', ref(source))
    expect(rendered).toMatchObject({ ok: true, name: expected })
  })

  test('a name longer than registries accept is refused with the length', () => {
    const source = ref(`ghcr.io/${'a'.repeat(60)}/${'b'.repeat(170)}`)
    const rendered = renderTarget(DEFAULT_TEMPLATE, 'registry.example.com/mirror', source)
    expect(rendered.ok).toBe(false)
    expect(!rendered.ok && rendered.reason).toMatch(
      /is 267 characters long; registries accept at most 255/
    )
  })

  test('a template giving an invalid repository says so', () => {
    const rendered = renderTarget('{target}/-{name}', 'registry.example.com', ref('nginx'))
    expect(!rendered.ok && rendered.reason).toMatch(/not a valid repository/)
  })

  test('IPv6 registries become a valid path segment', () => {
    const rendered = renderTarget(DEFAULT_TEMPLATE, 'mirror.example.com', ref('[::1]:5000/a'))
    expect(rendered).toMatchObject({
      ok: true,
      name: 'mirror.example.com/ipv6__0-0-0-0-0-0-0-1_5000/a'
    })
  })
})

describe('checkTemplate', () => {
  test.each([
    [DEFAULT_TEMPLATE, undefined],
    ['{target}/{name}', undefined],
    ['{target}/{repo}', /unknown placeholder \{repo\}/],
    ['{target}/{name', /unmatched/],
    ['{target}/fixed', /must contain \{repository\} or \{name\}/]
  ])('%s', (template, expected) => {
    const problem = checkTemplate(template)
    if (expected === undefined) expect(problem).toBeUndefined()
    else expect(problem).toMatch(expected)
  })
})

describe('targetReference', () => {
  const digest = `sha256:${'d'.repeat(64)}`
  test.each([
    ['nginx:1.27', 'm.example/x:1.27'],
    [`nginx@${digest}`, `m.example/x@${digest}`],
    [`nginx:1.27@${digest}`, `m.example/x:1.27@${digest}`]
  ])('%s keeps its tag and digest', (source, expected) => {
    expect(targetReference('m.example/x', ref(source))).toBe(expected)
  })
})

describe('findCollisions', () => {
  test('only different sources on one target collide, each named once', () => {
    expect(
      findCollisions([
        { source: 'docker.io/library/nginx', target: 'm/nginx', where: 'line 1' },
        { source: 'docker.io/library/nginx', target: 'm/nginx', where: 'line 2' },
        { source: 'docker.io/bitnami/nginx', target: 'm/nginx', where: 'line 3' },
        { source: 'docker.io/library/alpine', target: 'm/alpine', where: 'line 4' }
      ])
    ).toEqual([
      {
        target: 'm/nginx',
        sources: [
          { name: 'docker.io/library/nginx', where: 'line 1' },
          { name: 'docker.io/bitnami/nginx', where: 'line 3' }
        ]
      }
    ])
  })
})

describe('one-to-one names', () => {
  test('the default template keeps a port apart from a host name that spells it', () => {
    const a = renderTarget(DEFAULT_TEMPLATE, 'mirror.example.com', ref('reg.example:5000/team/app'))
    const b = renderTarget(DEFAULT_TEMPLATE, 'mirror.example.com', ref('reg.example-5000/team/app'))
    expect(a).toMatchObject({ ok: true, name: 'mirror.example.com/reg.example_5000/team/app' })
    expect(b).toMatchObject({ ok: true, name: 'mirror.example.com/reg.example-5000/team/app' })
  })

  test('two spellings of one IPv6 address land together; other addresses apart', () => {
    expect(registrySegment('[::1]:5000')).toBe(registrySegment('[0:0:0:0:0:0:0:0001]:5000'))
    expect(registrySegment('[fe80::1]')).toBe('ipv6__fe80-0-0-0-0-0-0-1')
    expect(registrySegment('[fe80::1]')).not.toBe(registrySegment('[fe80::1:0]'))
  })

  test('no two registries share a segment (hosts, ports, IPv6)', () => {
    const hosts = fc.oneof(
      fc.domain().map(d => d.toLowerCase()),
      fc
        .tuple(fc.domain(), fc.integer({ min: 1, max: 65535 }))
        .map(([d, p]) => `${d.toLowerCase()}:${p}`),
      fc.ipV6().map(a => `[${a}]`),
      fc.tuple(fc.ipV6(), fc.integer({ min: 1, max: 65535 })).map(([a, p]) => `[${a}]:${p}`)
    )
    fc.assert(
      fc.property(hosts, hosts, (a, b) => {
        // Only forms the reference grammar accepts (hex and colons inside brackets).
        fc.pre(!/\./.test(a.replace(/^[^[]*$/, '')) && !/\./.test(b.replace(/^[^[]*$/, '')))
        // One address, one name: WHATWG URL parsing gives IPv6 its canonical spelling.
        const canonical = (x: string) => {
          const m = /^\[(.*)\](?::(\d+))?$/.exec(x)
          return m ? `${new URL(`http://[${m[1]}]/`).hostname}:${m[2] ?? ''}` : x
        }
        if (canonical(a) !== canonical(b)) {
          expect(registrySegment(a)).not.toBe(registrySegment(b))
        }
      }),
      { numRuns: 2000 }
    )
  })

  test.each([
    ['{target}/{registry}/{repository}', true],
    ['{target}/{registry}/{namespace}/{name}', true],
    ['{target}/mirrors/{registry}/library/{repository}', true],
    ['{registry}/{repository}', true],
    ['{target}/{repository}', false],
    ['{target}/{name}', false],
    ['{target}/{namespace}-{name}', false],
    ['{target}/{registry}-{repository}', false],
    ['{target}/{registry}/{name}', false],
    ['{target}/{repository}/{registry}', false]
  ])('%s is one-to-one: %s', (template, expected) => {
    expect(isOneToOne(template)).toBe(expected)
  })
})
