/**
 * The reference grammar, table-driven: valid references with their normal
 * form, invalid ones with what the reason must name and the suggestion.
 */
import { describe, expect, test } from '@jest/globals'
import {
  describeChar,
  formatReference,
  parseReference,
  parseRepositoryName
} from '../src/image/references.js'

const D = 'sha256:' + '0123456789abcdef'.repeat(4)
const D512 = 'sha512:' + '0123456789abcdef'.repeat(8)
/** 64 hex digits: a local image ID, or the hex part of a sha256 digest. */
const HEX = D.slice('sha256:'.length)
const IMAGE_ID = /is an image ID, not an image name; write repo@sha256:<hex>/
const DIGEST_ALONE =
  /is a digest on its own, and a digest alone names no repository; write repo@sha256:<hex>/

// [input, normal form]
const VALID: [string, string][] = [
  ['ubuntu', 'docker.io/library/ubuntu:latest'],
  ['ubuntu:22.04', 'docker.io/library/ubuntu:22.04'],
  ['library/ubuntu', 'docker.io/library/ubuntu:latest'],
  ['docker.io/ubuntu', 'docker.io/library/ubuntu:latest'],
  ['docker.io/library/ubuntu:24.04', 'docker.io/library/ubuntu:24.04'],
  ['index.docker.io/ubuntu', 'docker.io/library/ubuntu:latest'],
  ['index.docker.io/bitnami/redis:7', 'docker.io/bitnami/redis:7'],
  ['registry-1.docker.io/library/nginx', 'docker.io/library/nginx:latest'],
  ['registry-1.docker.io/nginx:1.27', 'docker.io/library/nginx:1.27'],
  ['registry.hub.docker.com/library/nginx', 'docker.io/library/nginx:latest'],
  ['DOCKER.IO/library/nginx', 'docker.io/library/nginx:latest'],
  ['Docker.io/nginx', 'docker.io/library/nginx:latest'],
  ['bitnami/redis', 'docker.io/bitnami/redis:latest'],
  ['bitnami/redis:7.4.1-debian-12-r0', 'docker.io/bitnami/redis:7.4.1-debian-12-r0'],
  ['ghcr.io/org/app', 'ghcr.io/org/app:latest'],
  ['ghcr.io/org/app:v1.2.3', 'ghcr.io/org/app:v1.2.3'],
  ['GHCR.IO/org/app', 'ghcr.io/org/app:latest'],
  ['quay.io/prometheus/node-exporter:v1.8.2', 'quay.io/prometheus/node-exporter:v1.8.2'],
  ['registry.k8s.io/pause:3.10', 'registry.k8s.io/pause:3.10'],
  ['registry.k8s.io/kube-apiserver:v1.31.0', 'registry.k8s.io/kube-apiserver:v1.31.0'],
  ['gcr.io/distroless/static-debian12:nonroot', 'gcr.io/distroless/static-debian12:nonroot'],
  ['us-central1-docker.pkg.dev/p/r/img:1', 'us-central1-docker.pkg.dev/p/r/img:1'],
  ['public.ecr.aws/docker/library/nginx', 'public.ecr.aws/docker/library/nginx:latest'],
  ['mcr.microsoft.com/dotnet/sdk:8.0', 'mcr.microsoft.com/dotnet/sdk:8.0'],
  ['localhost/app', 'localhost/app:latest'],
  ['localhost:5000/app', 'localhost:5000/app:latest'],
  ['localhost:5000/team/app:v1', 'localhost:5000/team/app:v1'],
  ['127.0.0.1:5000/a/b:c', '127.0.0.1:5000/a/b:c'],
  ['[::1]:5000/a', '[::1]:5000/a:latest'],
  ['[2001:db8::1]/img:v', '[2001:db8::1]/img:v'],
  ['registry.example.com:443/x', 'registry.example.com:443/x:latest'],
  ['my-registry.local:65535/x', 'my-registry.local:65535/x:latest'],
  ['a.b/c', 'a.b/c:latest'],
  ['nginx:latest', 'docker.io/library/nginx:latest'],
  ['nginx:LATEST', 'docker.io/library/nginx:LATEST'],
  ['nginx:_private', 'docker.io/library/nginx:_private'],
  ['nginx:1.27-alpine3.20', 'docker.io/library/nginx:1.27-alpine3.20'],
  ['nginx:' + 'a'.repeat(128), 'docker.io/library/nginx:' + 'a'.repeat(128)],
  [`nginx@${D}`, `docker.io/library/nginx@${D}`],
  [`nginx:1.27@${D}`, `docker.io/library/nginx:1.27@${D}`],
  [`ghcr.io/org/app@${D}`, `ghcr.io/org/app@${D}`],
  [`quay.io/x/y:v1@${D}`, `quay.io/x/y:v1@${D}`],
  [`localhost:5000/a@${D512}`, `localhost:5000/a@${D512}`],
  ['a/b/c/d/e/f', 'docker.io/a/b/c/d/e/f:latest'],
  ['ab__c/d-e', 'docker.io/ab__c/d-e:latest'],
  ['foo_bar/baz', 'docker.io/foo_bar/baz:latest'],
  ['foo---bar/baz', 'docker.io/foo---bar/baz:latest'],
  ['0/1', 'docker.io/0/1:latest'],
  ['a.b.c/d', 'a.b.c/d:latest'],
  ['xn--80ak6aa92e.com/app', 'xn--80ak6aa92e.com/app:latest'],
  [`ghcr.io/${'a'.repeat(247)}`, `ghcr.io/${'a'.repeat(247)}:latest`],
  ['hub.docker.com/r/bitnami/redis', 'docker.io/bitnami/redis:latest'],
  ['https://hub.docker.com/r/bitnami/redis', 'docker.io/bitnami/redis:latest'],
  ['https://hub.docker.com/r/bitnami/redis/tags?page=1', 'docker.io/bitnami/redis:latest'],
  ['https://hub.docker.com/_/nginx', 'docker.io/library/nginx:latest'],
  ['https://hub.docker.com/_/nginx/', 'docker.io/library/nginx:latest'],
  ['http://www.hub.docker.com/_/alpine?tab=tags', 'docker.io/library/alpine:latest'],
  ['https://hub.docker.com/r/nginx', 'docker.io/library/nginx:latest'],
  ['https://hub.docker.com/repository/docker/acme/tool/general', 'docker.io/acme/tool:latest'],
  [
    'https://hub.docker.com/layers/library/nginx/1.27/images/sha256-abc',
    'docker.io/library/nginx:1.27'
  ],
  // 64 hex digits are an image ID only alone; with a registry or a namespace
  // written they name a repository, as in distribution/reference.
  [`docker.io/${HEX}`, `docker.io/library/${HEX}:latest`],
  [`library/${HEX}`, `docker.io/library/${HEX}:latest`],
  [`ghcr.io/org/${HEX}:v1`, `ghcr.io/org/${HEX}:v1`],
  [HEX.slice(1), `docker.io/library/${HEX.slice(1)}:latest`],
  [`${HEX}0`, `docker.io/library/${HEX}0:latest`],
  // A git commit hash is a common tag; only "sha256:<hex>" alone is a pasted digest.
  [`app:${HEX.slice(0, 40)}`, `docker.io/library/app:${HEX.slice(0, 40)}`],
  ['sha256:latest', 'docker.io/library/sha256:latest'],
  [`sha256/app:${HEX}`, `docker.io/sha256/app:${HEX}`],
  [`docker.io/sha256:${HEX}`, `docker.io/library/sha256:${HEX}`],
  ['[1:2:3:4:5:6:7:8]/x', '[1:2:3:4:5:6:7:8]/x:latest'],
  ['[::]:5000/x', '[::]:5000/x:latest'],
  ['[FD00::1]:5000/x', '[fd00::1]:5000/x:latest'],
  [
    '[2001:0db8:85a3:0000:0000:8a2e:0370:7334]:5000/x',
    '[2001:0db8:85a3:0000:0000:8a2e:0370:7334]:5000/x:latest'
  ],
  ['[fd00:1:2::3]:5000/x', '[fd00:1:2::3]:5000/x:latest']
]

// [input, words the reason must contain, suggestion or undefined]
const INVALID: [string, RegExp, string | undefined][] = [
  ['', /empty/, undefined],
  ['Nginx', /"Nginx" has upper-case letters/, 'docker.io/library/nginx:latest'],
  ['Nginx:1.27', /upper-case/, 'docker.io/library/nginx:1.27'],
  ['ghcr.io/Org/App:V1', /"Org" has upper-case/, 'ghcr.io/org/app:V1'],
  [
    'docker pull nginx',
    /whitespace " " \(U\+0020\) at position 7/,
    'docker.io/library/nginx:latest'
  ],
  ['docker pull --platform linux/arm64 nginx:1.27', /whitespace/, 'docker.io/library/nginx:1.27'],
  ['sudo docker pull ghcr.io/a/b', /whitespace/, 'ghcr.io/a/b:latest'],
  ['podman pull quay.io/x/y:v1', /whitespace/, 'quay.io/x/y:v1'],
  [
    'ctr -n k8s.io images pull registry.k8s.io/pause:3.10',
    /whitespace/,
    'registry.k8s.io/pause:3.10'
  ],
  ['nginx :1.27', /whitespace/, 'docker.io/library/nginx:1.27'],
  ['nginx\t', /whitespace U\+0009/, 'docker.io/library/nginx:latest'],
  ['https://ghcr.io/org/app', /"https:\/\/" is a URL scheme/, 'ghcr.io/org/app:latest'],
  ['http://localhost:5000/a:v', /URL scheme/, 'localhost:5000/a:v'],
  ['docker://nginx', /URL scheme/, 'docker.io/library/nginx:latest'],
  ['/nginx', /starts with "\/"/, 'docker.io/library/nginx:latest'],
  ['nginx/', /ends with "\/"/, 'docker.io/library/nginx:latest'],
  ['ghcr.io/org/app/', /ends with "\/"/, 'ghcr.io/org/app:latest'],
  ['a//b', /empty component/, 'docker.io/a/b:latest'],
  ['ghcr.io//app', /empty component/, 'ghcr.io/app:latest'],
  ['-a', /starts or ends with a separator/, undefined],
  ['a-', /starts or ends with a separator/, undefined],
  ['a..b', /"a\.\.b" is not a valid path component/, undefined],
  ['a___b', /not a valid path component/, undefined],
  ['a.-b', /not a valid path component/, undefined],
  ['_a/b', /separator/, undefined],
  ['nginx:', /tag after ":" is empty/, undefined],
  ['nginx:.1', /tag "\.1" starts with "\."/, undefined],
  ['nginx:-rc', /tag "-rc" starts with "-"/, undefined],
  ['nginx:' + 'a'.repeat(129), /129 characters long; a tag is at most 128/, undefined],
  ['nginx:a:b', /":" where none belongs/, undefined],
  [`ghcr.io/${'a'.repeat(248)}`, /256 characters long; registries accept at most 255/, undefined],
  ['x'.repeat(10000), /10000 characters long/, undefined],
  [`nginx@${D.slice(0, -1)}`, /63 hex digits; sha256 takes exactly 64/, undefined],
  [`nginx@${D}0`, /65 hex digits/, undefined],
  [
    `nginx@${D.toUpperCase().replace('SHA256', 'sha256')}`,
    /upper-case hex/,
    `docker.io/library/nginx@${D}`
  ],
  [
    `nginx@SHA256:${D.slice(7)}`,
    /algorithm "SHA256" is not supported/,
    `docker.io/library/nginx@${D}`
  ],
  ['nginx@md5:d41d8cd98f00b204e9800998ecf8427e', /algorithm "md5" is not supported/, undefined],
  ['nginx@sha256', /has no algorithm/, undefined],
  [`nginx@sha256:${'g'.repeat(64)}`, /not hexadecimal/, undefined],
  [`nginx@@${D}`, /not supported|hexadecimal|algorithm/, undefined],
  [`nginx@${D}@${D}`, /not hexadecimal/, undefined],
  ['nginx@', /no algorithm/, undefined],
  ['localhost:0/a', /port "0" .* is not a port number/, undefined],
  ['localhost:70000/a', /port "70000"/, undefined],
  ['localhost:abc/a', /port "abc"/, undefined],
  ['localhost:/a', /port ""/, undefined],
  ['reg..io/a', /empty label/, undefined],
  ['.reg.io/a', /empty label/, undefined],
  ['-reg.io/a', /"-reg" is not a valid host name label/, undefined],
  // A dot makes the first part a host, where "_" is not allowed.
  ['a.b__c/d-e', /"b__c" is not a valid host name label/, undefined],
  ['reg_x.io/a', /"reg_x" is not a valid host name label/, undefined],
  [`${'a'.repeat(64)}.io/b`, /not a valid host name label/, undefined],
  [
    'd\u043ecker.io/library/nginx',
    /non-ASCII character "\u043e" \(U\+043E\) at position 2/,
    'docker.io/library/nginx:latest'
  ],
  ['g\u0441r.io/x', /non-ASCII character .*U\+0441/, 'gcr.io/x:latest'],
  ['ghcr\u2024io/x', /non-ASCII/, 'ghcr.io/x:latest'],
  ['\uff4e\uff47\uff49\uff4e\uff58', /non-ASCII .*U\+FF4E/, 'docker.io/library/nginx:latest'],
  ['nginx\u200b', /U\+200B/, undefined],
  ['nginx\u0000', /control character U\+0000/, 'docker.io/library/nginx:latest'],
  ['nginx\u001b[31m', /control character U\+001B/, undefined],
  ['nginx\r\n::error::x', /control character U\+000D|whitespace U\+000D/, undefined],
  ['ngi#nx', /"#" \(U\+0023\) at position 4/, undefined],
  ['nginx;rm -rf /', /";"|whitespace/, undefined],
  ['$(id)/x', /"\$"/, undefined],
  ['`id`', /"`"/, undefined],
  ['nginx|cat', /"\|"/, undefined],
  ["nginx'", /"'"/, undefined],
  ['<script>', /"<"/, undefined],
  ['${{ github.token }}', /"\$"/, undefined],
  ['user@ghcr.io/x', /not hexadecimal|no algorithm|algorithm/, undefined],
  ['ghcr.io%2Fx', /"%"/, undefined],
  [
    'hub.docker.com/search?q=nginx',
    /Docker Hub page, but not one that names a repository/,
    undefined
  ],
  ['https://hub.docker.com/', /Docker Hub page/, undefined],
  ['https://hub.docker.com/r/Bitnami/Redis', /upper-case/, 'docker.io/bitnami/redis:latest'],
  // An image ID where a name belongs, with or without a tag or digest; never
  // suggested back as a repository called <hex>.
  [HEX, IMAGE_ID, undefined],
  [`${HEX}:v1`, IMAGE_ID, undefined],
  [`${HEX}@${D}`, IMAGE_ID, undefined],
  [HEX.toUpperCase(), IMAGE_ID, undefined],
  [`docker pull ${HEX}`, /whitespace/, undefined],
  [`/${HEX}`, /starts with "\/"/, undefined],
  // A digest alone: not a repository "sha256" with the hex as its tag.
  [D, DIGEST_ALONE, undefined],
  [`sha256:${HEX.toUpperCase()}`, DIGEST_ALONE, undefined],
  [`SHA256:${HEX}`, DIGEST_ALONE, undefined],
  [`sha256:${HEX.slice(0, 40)}`, DIGEST_ALONE, undefined],
  [D512, /is a digest on its own.*write repo@sha512:<hex>/, undefined],
  [` ${D}`, /whitespace/, undefined],
  [`docker pull ${D}`, /whitespace/, undefined],
  [`nginx ${D}`, /whitespace/, undefined],
  [`@${D}`, /a digest with no repository name in front of it; write repo@sha256:<hex>/, undefined],
  [`nginx @${D}`, /whitespace/, `docker.io/library/nginx@${D}`],
  // IPv6 registries: only hex digits and ":" in brackets, shaped as an address.
  [
    '[::ffff:192.0.2.1]:5000/x',
    /registry "\[::ffff:192\.0\.2\.1\]:5000" has an IPv4 part \("192\.0\.2\.1"\) in its IPv6 address; image references allow only hex digits and ":" between "\[" and "\]", so write the address in hex, e\.g\. \[::ffff:c000:201\]:5000/,
    undefined
  ],
  ['[::ffff:192.0.2.1]/x', /IPv4 part.*e\.g\. \[::ffff:c000:201\]$/, undefined],
  ['[64:ff9b::10.0.0.1]:443/x', /e\.g\. \[64:ff9b::a00:1\]:443/, undefined],
  ['[::1.2.3]/x', /IPv4 part \("1\.2\.3"\).*in hex$/, undefined],
  ['[::ffff:192.0.2.1]:99999/x', /e\.g\. \[::ffff:c000:201\]$/, undefined],
  ['[g::1]/x', /"g" \(U\+0067\) in its IPv6 address; only hex digits and ":"/, undefined],
  ['[fe80::1%eth0]:5000/x', /"%"/, undefined],
  ['[::1/x', /"\[" or "\]" out of place/, undefined],
  ['::1]/x', /out of place/, undefined],
  ['[::1]x/y', /out of place/, undefined],
  ['[]/x', /"\[\]" has a "\[" or "\]"/, undefined],
  ['[1]/x', /"\[1\]" has a "\[" or "\]"/, undefined],
  [
    '[1]:5000/x',
    /"1" is not an IPv6 address \(it has 1 group; without "::" there are exactly 8\)/,
    undefined
  ],
  ['[1::2::3]/x', /"::" may appear only once/, undefined],
  ['[:::]/x', /empty group/, undefined],
  ['[:1::]/x', /empty group/, undefined],
  ['[12345::]/x', /group "12345" has more than 4 hex digits/, undefined],
  ['[fd00123123123]:5000/x', /more than 4 hex digits/, undefined],
  ['[1:2:3:4:5:6:7:8:9]/x', /9 groups; without "::" there are exactly 8/, undefined],
  ['[1:2:3:4:5:6:7::8]/x', /8 groups and "::"; with "::" there are at most 7/, undefined],
  ['fc00::1:5000/x', /more than one ":"; an IPv6 address goes in square brackets/, undefined],
  [
    '[::1]',
    /"\[::1\]" is a registry address with no repository after it; write \[::1\]\/repo/,
    undefined
  ],
  ['[::1]:5000', /write \[::1\]:5000\/repo/, undefined],
  ['[::1]:5000/a/[x]', /"\[x\]" has a "\[" or "\]"/, undefined]
]

describe('valid references and their normal form', () => {
  test(`the table has ${VALID.length} valid and ${INVALID.length} invalid cases`, () => {
    expect(VALID.length + INVALID.length).toBeGreaterThanOrEqual(80)
  })

  test.each(VALID)('%s → %s', (input, normal) => {
    const parsed = parseReference(input)
    if (!parsed.ok) throw new Error(`rejected: ${parsed.reason}`)
    expect(formatReference(parsed.ref)).toBe(normal)
    // The normal form is itself valid and already normal.
    const again = parseReference(normal)
    expect(again.ok && formatReference(again.ref)).toBe(normal)
  })
})

describe('invalid references name the bad part', () => {
  test.each(INVALID)('%j', (input, reason, suggestion) => {
    const parsed = parseReference(input)
    expect(parsed.ok).toBe(false)
    if (parsed.ok) return
    expect(parsed.reason).toMatch(reason)
    expect(parsed.suggestion).toBe(suggestion)
    if (suggestion) expect(parseReference(suggestion).ok).toBe(true)
  })
})

describe('details', () => {
  test('Docker Hub page URLs are accepted with a note saying how they were read', () => {
    const parsed = parseReference('https://hub.docker.com/r/bitnami/redis')
    expect(parsed.ok && parsed.note).toBe(
      'read the Docker Hub page https://hub.docker.com/r/bitnami/redis as docker.io/bitnami/redis:latest'
    )
    const plain = parseReference('bitnami/redis')
    expect(plain.ok && plain.note).toBeUndefined()
  })

  test('tag and digest are both kept; a digest alone gets no tag', () => {
    expect(parseReference(`nginx:1.27@${D}`)).toMatchObject({
      ok: true,
      ref: { registry: 'docker.io', repository: 'library/nginx', tag: '1.27', digest: D }
    })
    const digestOnly = parseReference(`nginx@${D}`)
    expect(digestOnly.ok && digestOnly.ref.tag).toBeUndefined()
  })

  test('parseRepositoryName refuses tags and digests', () => {
    expect(parseRepositoryName('ghcr.io/org/app')).toEqual({
      ok: true,
      ref: { registry: 'ghcr.io', repository: 'org/app' }
    })
    expect(parseRepositoryName('localhost:5000/a')).toMatchObject({ ok: true })
    expect(parseRepositoryName('nginx:latest')).toMatchObject({
      ok: false,
      reason: /carries a tag or digest/
    })
    expect(parseRepositoryName(`nginx@${D}`)).toMatchObject({ ok: false })
    expect(parseRepositoryName('Bad/Name')).toMatchObject({ ok: false, reason: /upper-case/ })
  })

  test('describeChar quotes printable characters and spells out invisible ones', () => {
    expect(describeChar('е')).toBe('"е" (U+0435)')
    expect(describeChar('\n')).toBe('U+000A')
    expect(describeChar('\u0085')).toBe('U+0085')
    expect(describeChar('😀')).toBe('"😀" (U+1F600)')
  })
})
