/**
 * An issue's policy is refused unread (issue 20): a stranger's range or regex never reaches the
 * policy parser, whatever the parser's cost. The parser is replaced here by one that fails the
 * test if called, and parseIssue is loaded over it.
 */
import { expect, it, jest } from '@jest/globals'

const real = await import('../src/image/tag-policy.js')
const calls: string[] = []
jest.unstable_mockModule('../src/image/tag-policy.js', () => ({
  ...real,
  parseTagPolicy: (text: string) => {
    calls.push(text)
    return real.parseTagPolicy(text)
  }
}))
const { parseIssue } = await import('../src/issue/request.js')
const { parseEntries } = await import('../src/image/entries.js')

it('parses no policy of an issue, in its title or its body, malformed or not', () => {
  const lines = [
    'nginx:semver(>=1.26) loose',
    'nginx:/(a+)+$/',
    'nginx:newest(0)',
    `nginx:semver(${'1.2 '.repeat(60)}!) loose`,
    'quay.io/a/b:exclude(x) newest(3)'
  ]
  const r = parseIssue({ title: lines[0]!, body: lines.slice(1).join('\n') }, { maxImages: 10 })
  expect(r.requests.map(q => q.kind)).toEqual(lines.map(() => 'invalid'))
  expect(calls).toEqual([])
  // The same lines in a list are read (the stand-in is the one in use).
  parseEntries(lines[0]!, 'images')
  expect(calls).toEqual(['semver(>=1.26) loose'])
})
