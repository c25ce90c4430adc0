import { describe, expect, test } from '@jest/globals'
import { parseAllowlist } from '../src/allowlist/allowlist.js'
import { parseEntries } from '../src/image/entries.js'
import { CollisionError, buildPlan } from '../src/plan/plan.js'
import { DEFAULT_TEMPLATE } from '../src/image/rewrite.js'

const options = { target: 'mirror.example.com/m', template: DEFAULT_TEMPLATE }

function plan(text: string, extra: Partial<Parameters<typeof buildPlan>[1]> = {}) {
  return buildPlan(parseEntries(text, 'images'), { ...options, ...extra })
}

describe('buildPlan', () => {
  test('valid entries are planned with their targets', () => {
    expect(plan('nginx:1.27\nquay.io/prometheus/node-exporter:v1.8.0')).toEqual([
      {
        request: 'nginx:1.27',
        origin: 'images line 1',
        source: 'docker.io/library/nginx:1.27',
        target: 'mirror.example.com/m/docker.io/library/nginx:1.27',
        status: 'planned'
      },
      {
        request: 'quay.io/prometheus/node-exporter:v1.8.0',
        origin: 'images line 2',
        source: 'quay.io/prometheus/node-exporter:v1.8.0',
        target: 'mirror.example.com/m/quay.io/prometheus/node-exporter:v1.8.0',
        status: 'planned'
      }
    ])
  })

  test('invalid entries are rejected with the reason and the suggestion', () => {
    const [result] = plan('https://ghcr.io/Org/App:v1')
    expect(result).toMatchObject({ status: 'rejected', source: '', target: '' })
    expect(result?.reason).toMatch(
      /^invalid image reference: .*URL scheme.*; did you mean ghcr\.io\/org\/app:v1\?$/
    )
  })

  test('the allowlist decides, and its rejection names the allowlist', () => {
    const allowlist = parseAllowlist(
      'docker.io/library/nginx\nquay.io/prometheus/**\n',
      'allows.txt'
    )
    const results = plan('nginx\nalpine\nquay.io/prometheus/a/b:1', { allowlist })
    expect(results.map(r => r.status)).toEqual(['planned', 'rejected', 'planned'])
    expect(results[1]?.reason).toBe(
      'docker.io/library/alpine is not in the allowlist allows.txt; ask for a line such as "docker.io/library/alpine" to be added to it'
    )
    expect(results[1]?.source).toBe('docker.io/library/alpine:latest')
  })

  test('allowlist name can be given for messages', () => {
    const allowlist = parseAllowlist('nginx', '/abs/path/allows.txt')
    const [result] = plan('alpine', { allowlist, allowlistName: 'allows.txt' })
    expect(result?.reason).toMatch(/not in the allowlist allows\.txt;/)
  })

  test('a target too long for registries is rejected, others go on', () => {
    const long = `ghcr.io/${'a'.repeat(100)}/${'b'.repeat(140)}`
    const results = plan(`${long}:v1\nnginx`)
    expect(results.map(r => r.status)).toEqual(['rejected', 'planned'])
    expect(results[0]?.reason).toMatch(/registries accept at most 255/)
  })

  test('tag filters are planned against the repository', () => {
    expect(plan('alpine:/^3\\./')).toEqual([
      expect.objectContaining({
        status: 'planned',
        source: 'docker.io/library/alpine',
        target: 'mirror.example.com/m/docker.io/library/alpine',
        tagFilter: '/^3\\./'
      })
    ])
  })

  test('duplicates are merged with a note on the one kept', () => {
    const results = plan('nginx\nnginx:latest\ndocker.io/library/nginx')
    expect(results).toHaveLength(1)
    expect(results[0]?.note).toBe('also requested on images line 2, images line 3; merged')
  })

  test('collisions stop the plan, naming every pair', () => {
    const text = 'nginx\nbitnami/nginx:1\nghcr.io/a/redis\nquay.io/b/redis\nalpine'
    expect(() => plan(text, { template: '{target}/{name}' })).toThrow(CollisionError)
    expect(() => plan(text, { template: '{target}/{name}' })).toThrow(
      /docker\.io\/library\/nginx \(images line 1\) and docker\.io\/bitnami\/nginx \(images line 2\) would both land on mirror\.example\.com\/m\/nginx\nghcr\.io\/a\/redis \(images line 3\) and quay\.io\/b\/redis \(images line 4\) would both land on mirror\.example\.com\/m\/redis/
    )
  })

  test('rejected entries never take part in collisions', () => {
    const allowlist = parseAllowlist('docker.io/library/nginx', 'allows.txt')
    const results = plan('nginx\nbitnami/nginx', { template: '{target}/{name}', allowlist })
    expect(results.map(r => r.status)).toEqual(['planned', 'rejected'])
  })
})
