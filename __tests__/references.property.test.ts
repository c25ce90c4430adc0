/**
 * Property tests of the reference parser: random and mutated strings never
 * throw, every accepted reference round-trips to the same normal form, and
 * references generated from the grammar are always accepted.
 */
import { describe, expect, test } from '@jest/globals'
import fc from 'fast-check'
import { parseEntry } from '../src/image/entries.js'
import {
  MAX_NAME_LENGTH,
  formatReference,
  parseReference,
  parseRepositoryName
} from '../src/image/references.js'

const RUNS = 3000

// --- Arbitraries that follow the reference grammar (distribution/reference) ---
/** IPv6 addresses written in hex digits and ":" only, any case. */
function ipv6Hex(): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.ipV6().filter(address => !address.includes('.')),
      fc.boolean()
    )
    .map(([address, upper]) => (upper ? address.toUpperCase() : address))
}
const alnum = fc.string({
  unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'),
  minLength: 1,
  maxLength: 8
})
const separator = fc.constantFrom('.', '_', '__', '-', '--', '---')
const pathComponent = fc
  .tuple(alnum, fc.array(fc.tuple(separator, alnum), { maxLength: 2 }))
  .map(([head, rest]) => head + rest.map(([s, a]) => s + a).join(''))
const label = fc
  .tuple(
    fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'),
    fc.string({ unit: fc.constantFrom(...'abcxyz019-'), maxLength: 6 }),
    fc.constantFrom(...'abz09')
  )
  .map(([a, mid, z]) => a + mid + z)
const domain = fc.oneof(
  fc
    .tuple(
      fc.array(label, { minLength: 2, maxLength: 3 }),
      fc.option(fc.integer({ min: 1, max: 65535 }))
    )
    .map(([labels, port]) => labels.join('.') + (port === null ? '' : `:${port}`)),
  fc.integer({ min: 1, max: 65535 }).map(port => `localhost:${port}`),
  fc.constantFrom('docker.io', 'index.docker.io', 'registry-1.docker.io', 'ghcr.io', '[::1]:5000'),
  // IPv6 in brackets, hex digits and ":" only (the grammar has no IPv4 part there).
  fc
    .tuple(ipv6Hex(), fc.option(fc.integer({ min: 1, max: 65535 })))
    .map(([address, port]) => `[${address}]` + (port === null ? '' : `:${port}`))
)
const tag = fc
  .tuple(
    fc.constantFrom(...'aZ9_'),
    fc.string({ unit: fc.constantFrom(...'abcXYZ019_.-'), maxLength: 20 })
  )
  .map(([a, rest]) => a + rest)
const digest = fc
  .string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 })
  .map(hex => `sha256:${hex}`)
const reference = fc
  .tuple(
    fc.option(domain),
    fc.array(pathComponent, { minLength: 1, maxLength: 4 }),
    fc.option(tag),
    fc.option(digest)
  )
  // Without a domain, a first component with a "." would be read as one (docker does the same).
  .filter(([d, path]) => d !== null || !/[.]|^localhost$/.test(path[0] ?? ''))
  .map(
    ([d, path, t, dg]) =>
      (d === null ? '' : `${d}/`) +
      path.join('/') +
      (t === null ? '' : `:${t}`) +
      (dg === null ? '' : `@${dg}`)
  )

// Mutations: the edits a typo, a paste or an attacker makes.
const mutated = fc
  .tuple(
    reference,
    fc.array(
      fc.tuple(
        fc.constantFrom('insert', 'delete', 'replace', 'flip'),
        fc.nat(),
        fc.constantFrom(...'/:@._-A Z#%\u043e\u0000\n\u202e\ud83d\ude00')
      ),
      { minLength: 1, maxLength: 4 }
    )
  )
  .map(([text, edits]) => {
    let s = text
    for (const [kind, at, ch] of edits) {
      const i = s.length === 0 ? 0 : at % s.length
      if (kind === 'insert') s = s.slice(0, i) + ch + s.slice(i)
      else if (kind === 'delete') s = s.slice(0, i) + s.slice(i + 1)
      else if (kind === 'replace') s = s.slice(0, i) + ch + s.slice(i + 1)
      else s = s.slice(0, i) + (s[i] ?? '').toUpperCase() + s.slice(i + 1)
    }
    return s
  })

const anyText = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({ unit: fc.constantFrom(...'ab/:@.-_[]9'), maxLength: 40 }),
  mutated
)
const at = { source: 'images', line: 1 }

describe('the parser never throws', () => {
  test('on random and mutated strings', () => {
    fc.assert(
      fc.property(anyText, text => {
        parseReference(text)
        parseRepositoryName(text)
        parseEntry(text, at)
      }),
      { numRuns: RUNS }
    )
  })
})

describe('accepted references', () => {
  test('round-trip to the same normal form', () => {
    fc.assert(
      fc.property(fc.oneof(reference, mutated, anyText), text => {
        const parsed = parseReference(text)
        if (!parsed.ok) return
        const normal = formatReference(parsed.ref)
        const again = parseReference(normal)
        expect(again.ok).toBe(true)
        expect(again.ok && formatReference(again.ref)).toBe(normal)
        expect(again.ok && again.ref).toEqual(parsed.ref)
      }),
      { numRuns: RUNS }
    )
  })

  test('have the normal shape: registry/repository with a tag or a digest', () => {
    fc.assert(
      fc.property(fc.oneof(reference, mutated), text => {
        const parsed = parseReference(text)
        if (!parsed.ok) return
        const { registry, repository, tag, digest } = parsed.ref
        expect(registry).toBe(registry.toLowerCase())
        expect(['index.docker.io', 'registry-1.docker.io']).not.toContain(registry)
        expect(repository).toMatch(
          /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/
        )
        if (registry === 'docker.io') expect(repository.split('/').length).toBeGreaterThan(1)
        // A host name or an IPv6 address of hex digits and ":", then an optional port.
        expect(registry).toMatch(/^(?:[a-z0-9.-]+|\[[0-9a-f:]+\])(?::[0-9]{1,5})?$/)
        expect(`${registry}/${repository}`.length).toBeLessThanOrEqual(MAX_NAME_LENGTH)
        expect(tag !== undefined || digest !== undefined).toBe(true)
        // Nothing outside the grammar's alphabet survives.
        expect(formatReference(parsed.ref)).toMatch(/^[A-Za-z0-9._:/@[\]-]+$/)
      }),
      { numRuns: RUNS }
    )
  })

  test('every reference built from the grammar is accepted', () => {
    fc.assert(
      fc.property(reference, text => {
        const parsed = parseReference(text)
        if (!parsed.ok) throw new Error(`${text}: ${parsed.reason}`)
      }),
      { numRuns: RUNS }
    )
  })

  test('suggestions are always valid references', () => {
    fc.assert(
      fc.property(mutated, text => {
        const parsed = parseReference(text)
        if (parsed.ok || parsed.suggestion === undefined) return
        expect(parseReference(parsed.suggestion).ok).toBe(true)
      }),
      { numRuns: RUNS }
    )
  })
})

// --- Image IDs, digests and IPv6 hosts the grammar refuses -----------------
const hex = (min: number, max: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), minLength: min, maxLength: max })
const imageId = hex(64, 64)
const pastedDigest = fc
  .tuple(fc.constantFrom('sha256', 'sha512', 'SHA256'), hex(32, 128))
  .map(([algorithm, h]) => `${algorithm}:${h}`)
/** What wraps a paste: shell prompts, spaces, control characters, a scheme, slashes. */
const wrapping = fc.tuple(
  fc.constantFrom('', ' ', '\t', 'docker pull ', 'sudo docker pull ', 'https://', '/', '\u0000'),
  fc.constantFrom('', ' ', '\n', '/', '\u001b')
)

describe('image IDs and digests where a name belongs', () => {
  test('a bare image ID is refused, with or without a tag or digest, and never suggested as a name', () => {
    fc.assert(
      fc.property(imageId, fc.option(tag), fc.option(digest), (id, t, dg) => {
        const text = id + (t === null ? '' : `:${t}`) + (dg === null ? '' : `@${dg}`)
        const parsed = parseReference(text)
        expect(parsed).toMatchObject({ ok: false, reason: /is an image ID, not an image name/ })
        expect(!parsed.ok && parsed.suggestion).toBeUndefined()
        expect(parseRepositoryName(id).ok).toBe(false)
        // Written with a registry, the same hex is a repository name.
        expect(parseReference(`docker.io/${id.toLowerCase()}`).ok).toBe(true)
      }),
      { numRuns: RUNS }
    )
  })

  test('a digest alone is refused and never suggested as a repository "sha256" with a tag', () => {
    fc.assert(
      fc.property(pastedDigest, text => {
        const parsed = parseReference(text)
        expect(parsed).toMatchObject({ ok: false, reason: /is a digest on its own/ })
        expect(!parsed.ok && parsed.suggestion).toBeUndefined()
      }),
      { numRuns: RUNS }
    )
  })

  test('wrapped in a paste, neither comes back as a name through a suggestion', () => {
    fc.assert(
      fc.property(fc.oneof(imageId, pastedDigest), wrapping, (core, [before, after]) => {
        const parsed = parseReference(before + core + after)
        if (parsed.ok) throw new Error(`accepted ${JSON.stringify(before + core + after)}`)
        if (parsed.suggestion === undefined) return
        const again = parseReference(parsed.suggestion)
        expect(again.ok).toBe(true)
        if (!again.ok) return
        expect(again.ref.repository).not.toMatch(/^library\/(?:[0-9a-f]{64}|sha256|sha512)$/)
      }),
      { numRuns: RUNS }
    )
  })
})

describe('IPv6 registries', () => {
  test('an address is accepted in brackets exactly when it has no IPv4 part', () => {
    fc.assert(
      fc.property(fc.ipV6(), fc.integer({ min: 1, max: 65535 }), (address, port) => {
        const parsed = parseReference(`[${address}]:${port}/x`)
        if (!address.includes('.')) {
          expect(parsed.ok && parsed.ref.registry).toBe(`[${address.toLowerCase()}]:${port}`)
          return
        }
        expect(parsed).toMatchObject({
          ok: false,
          reason: /has an IPv4 part .* in its IPv6 address/
        })
        // The hex spelling the message offers is itself accepted.
        const offered = !parsed.ok && /e\.g\. (\[[0-9a-f:]+\]:[0-9]+)$/.exec(parsed.reason)
        if (!offered) throw new Error(`no hex form offered: ${!parsed.ok && parsed.reason}`)
        expect(parseReference(`${offered[1]}/x`).ok).toBe(true)
      }),
      { numRuns: RUNS }
    )
  })

  test('only hex digits and ":" inside the brackets are ever accepted', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom(...'0123456789abcdef:.%gz-[]'), maxLength: 45 }),
        inside => {
          const parsed = parseReference(`[${inside}]:5000/x`)
          if (parsed.ok) expect(inside).toMatch(/^[0-9a-f:]+$/)
        }
      ),
      { numRuns: RUNS }
    )
  })
})
