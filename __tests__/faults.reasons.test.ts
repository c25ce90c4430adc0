/**
 * The reasons users read when a copy meets a fault: the tools' last words, as
 * skopeo 1.9.3 and crane v0.21.9 printed them in the fault end-to-end tests
 * (faults.e2e), turned into the plain cause first and the tool's message
 * after it; and whether each is worth another attempt.
 */
import { describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {
  EngineError,
  explain,
  retriedByTool,
  runTool,
  toolMessage
} from '../src/copy/engines/engine.js'

const UPLOAD = 'http://127.0.0.1:39147/v2/m/img/blobs/uploads/55cf2be1-096b-455a-ac95-92d282a3cad0'
const STATE = '?_state=nSnEgPOLwvmC2gf3n0NjSPZNf2cq8tVC66c8XDrPD0l7Ik5hbWUiOiJtL2ltZzYifQ%3D%3D'
const fatal = (msg: string) =>
  `time="2026-11-25T02:42:36Z" level=fatal msg="${msg.replace(/"/g, '\\"')}"`

/** [what skopeo said, the cause the reason starts with] */
const CASES: [string, string][] = [
  [
    `copying image 1/2 from manifest list: writing blob: Patch "${UPLOAD}${STATE}": readfrom tcp 127.0.0.1:38234->127.0.0.1:39147: happened during read: Digest did not match, expected sha256:834496c2fb61e2767a3896f3485200cbe7fbae1cb7d1dba5d6d425c2c6eeebee, got sha256:6450ea75a3b00af6314744ca50bdaae4c70842f4c3e97aab1c7ad8f1003bc1bf`,
    'a blob read from the source did not match its digest'
  ],
  [
    `copying image 1/2 from manifest list: writing blob: uploading layer to ${UPLOAD}${STATE}&digest=sha256%3Adfedff1efc1c45a97a8aece5ebead86a9db0ffc2a8baaf2bdea1f280bdc28cab: digest invalid: provided digest did not match uploaded content`,
    'the target refused a blob whose content did not match its digest'
  ],
  [
    `copying image 1/2 from manifest list: writing blob: Patch "${UPLOAD}${STATE}": readfrom tcp 127.0.0.1:38126->127.0.0.1:39147: happened during read: unexpected EOF`,
    'the connection to the source was closed in the middle of a blob'
  ],
  [
    `copying image 1/2 from manifest list: writing blob: Patch "${UPLOAD}${STATE}": EOF`,
    'the connection to the target was closed in the middle of an upload'
  ],
  [
    'copying image 1/2 from manifest list: writing blob: uploading layer chunked: toomanyrequests: injected 429 by the fault proxy',
    'a registry refused with 429 Too Many Requests'
  ],
  [
    'copying image 1/2 from manifest list: writing blob: initiating layer upload to /v2/m/a/blobs/uploads/ in 127.0.0.1:35309: received unexpected HTTP status: 500 Internal Server Error',
    'the target failed to store the image'
  ],
  [
    'copying image 1/2 from manifest list: writing manifest: uploading manifest sha256:270440cfc37aa34e554b9e91b3e9323ee6418de7eb037b8626cc16777cff03d3 to 127.0.0.1:39147/m/img5: received unexpected HTTP status: 500 Internal Server Error',
    'the target failed to store the image'
  ],
  [
    'copying image 1/2 from manifest list: trying to reuse blob sha256:525473158a25ecc4a3fe4981a8d144d5d3e3911110d77bac009d59c1fa7ed8e7 at destination: failed to read from destination repository m/img4: 503 (Service Unavailable)',
    'the target failed to store the image (it answered a server error while the image was being written)'
  ],
  [
    // The target's disk filled up while a blob was linked: it answers for that blob with a 500.
    'trying to reuse blob sha256:2a0862066a2a14605895f7978db8f4269ab815f1134544aad60df06aac1a30d5 at destination: failed to read from destination repository disk/127.0.0.1_40983/disk/img-2: 500 (Internal Server Error)',
    'the target failed to store the image (it answered a server error while the image was being written)'
  ],
  [
    'initializing source docker://127.0.0.1:44951/m/img@sha256:dc123115579cf4f91176c4949b0a03bbbef98ca0f8891c5fece8e9bddc66e091: reading manifest sha256:dc123115579cf4f91176c4949b0a03bbbef98ca0f8891c5fece8e9bddc66e091 in 127.0.0.1:44951/m/img: received unexpected HTTP status: 503 Service Unavailable',
    'a registry answered with a server error'
  ],
  [
    'initializing source docker://127.0.0.1:41234/x/y@sha256:1: pinging container registry 127.0.0.1:41234: Get "http://127.0.0.1:41234/v2/": dial tcp 127.0.0.1:41234: connect: connection refused',
    'a registry could not be reached (connection refused)'
  ]
]

describe('reasons for faults', () => {
  it.each(CASES)('%s', (said, cause) => {
    const message = toolMessage(`Getting image source signatures\n${fatal(said)}\n`)
    expect(explain(message)).toMatch(new RegExp(`^${cause.replace(/[()]/g, '\\$&')}`))
    // The opaque upload state is cut from URLs; the rest of what skopeo said is kept.
    expect(message).not.toContain('_state=')
    expect(message).not.toContain('time="')
    expect(message.length).toBeLessThanOrEqual(600)
  })

  it('leaves a message it does not know alone', () => {
    expect(explain('something else entirely')).toBeUndefined()
    expect(toolMessage('plain line one\nplain line two\n')).toBe('plain line one | plain line two')
  })

  it('puts the cause first and keeps what the tool said, unescaped', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reasons-test-'))
    try {
      const tool = path.join(dir, 'tool.sh')
      const line = fatal(`writing blob: Patch "${UPLOAD}${STATE}": EOF`)
      fs.writeFileSync(tool, `#!/bin/sh\ncat >&2 <<'EOF'\n${line}\nEOF\nexit 1\n`, { mode: 0o755 })
      const error = (await runTool('skopeo', tool, [], {}).catch((e: unknown) => e)) as EngineError
      expect(error).toBeInstanceOf(EngineError)
      expect(error.message).toBe(
        `the connection to the target was closed in the middle of an upload (skopeo exited with 1: writing blob: Patch "${UPLOAD}": EOF)`
      )
      expect(error.permanent).toBe(false)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

/** crane prints Go log lines (progress, each retry) and ends with cobra's `Error: ...`. */
const T = '2026/12/01 02:32:36'
const CRANE_UPLOAD =
  'http://127.0.0.1:41149/v2/m/img/blobs/uploads/b09609da-a18e-409f-88c3-574dfad1766f'
const CRANE_STATE =
  '?_state=3ovg-j7euFKU2w3WObXlxDmQYhOsq43GMb24oT5_Vmd7Ik5hbWUiOiJjb3JydXB0LzEyNy4wLjAuMV80NDg0My9jb3JydXB0L2ltZy0xIn0%3D'
const BLOB = 'sha256:fa8f204853f1caf82f0bed62cfa7af1c2ad25e2d4e81581700080bc320553b7e'
const MANIFEST = 'sha256:b639a2fa94f3746d85092ff56f0aaedc65e13cb474702186e6df0560976f49fc'
const ENOSPC = (file: string) =>
  `UNKNOWN: unknown error; map[DriverName:filesystem Enclosed:map[Err:28 Op:write Path:/tmp/image-mirror-small-disk-J4G05e/storage/docker/registry/v2/repositories/m/img/${file}]]`

/** [what happened, crane's stderr, the cause the reason starts with (or none), permanent, crane had retried it] */
const CRANE: [string, string, string | undefined, boolean, boolean][] = [
  [
    // The source answered a blob with a byte flipped: crane checks the sha256 as it streams it.
    'a blob flipped on the way from the source',
    `${T} Copying from 127.0.0.1:44843/m/img@${MANIFEST} to 127.0.0.1:41149/m/img:1\n${T} retrying without mount: Post "http://127.0.0.1:41149/v2/m/img/blobs/uploads/?from=m%2Fimg&mount=sha256%3Afe9a&origin=127.0.0.1%3A44843": Patch "${CRANE_UPLOAD}${CRANE_STATE}": readfrom tcp 127.0.0.1:59646->127.0.0.1:41149: error verifying sha256 checksum after reading 111 bytes; got "sha256:04a7", want "sha256:0a61"\nError: Patch "${CRANE_UPLOAD}${CRANE_STATE}": readfrom tcp 127.0.0.1:59646->127.0.0.1:41149: error verifying sha256 checksum after reading 111 bytes; got "sha256:04a78c59cee3375af64606455f4c3a9c29601dbf668dfd50d8aca2eff7959f14", want "sha256:0a61b5ac831169ecea2dce4431d344c0a5a3b31c43e4664107ef0e07298d2aff"`,
    'a blob read from the source did not match its digest',
    false,
    false
  ],
  [
    // The source answered a blob cut short, Content-Length saying so.
    'a blob cut short by the source',
    `${T} retrying EOF\nError: GET http://127.0.0.1:44843/v2/m/img/blobs/${BLOB}: Content-Length header 20 does not match expected size 111`,
    'a blob read from the source did not match its digest',
    false,
    false
  ],
  [
    'an upload flipped on the way to the target',
    `${T} pushed blob: sha256:2bd190af0ccca735ff06d5bb6bbe8e8c0a38801981a402d0355430dde2a28960\nError: PUT ${CRANE_UPLOAD}?_state=REDACTED&digest=sha256%3A333ad5f5795ae8e3a721dffa45af9a59330eed6cd43f18237f6377051ae06aa8: DIGEST_INVALID: provided digest did not match uploaded content; map[Digest:sha256:333ad5f5795ae8e3a721dffa45af9a59330eed6cd43f18237f6377051ae06aa8 Reason:map[]]`,
    'the target refused a blob whose content did not match its digest',
    false,
    false
  ],
  [
    // The target killed: crane had retried uploads cut by it going away, then found it gone.
    'the target killed',
    `${T} retrying Put "${CRANE_UPLOAD}${CRANE_STATE}&digest=sha256%3A4c9e": EOF\nError: Head "http://127.0.0.1:44195/v2/m/img/blobs/${BLOB}": dial tcp 127.0.0.1:44195: connect: connection refused`,
    'a registry could not be reached (connection refused)',
    false,
    false
  ],
  [
    'the source closing in the middle of a blob',
    `${T} retrying Patch "${CRANE_UPLOAD}${CRANE_STATE}": readfrom tcp 127.0.0.1:35694->127.0.0.1:33175: unexpected EOF\nError: Patch "${CRANE_UPLOAD}${CRANE_STATE}": readfrom tcp 127.0.0.1:35694->127.0.0.1:33175: unexpected EOF`,
    'the connection to the source was closed in the middle of a blob',
    false,
    true
  ],
  [
    'the target closing in the middle of an upload',
    `${T} retrying Patch "${CRANE_UPLOAD}${CRANE_STATE}": EOF\nError: Patch "${CRANE_UPLOAD}${CRANE_STATE}": EOF`,
    'the connection to the target was closed in the middle of an upload',
    false,
    true
  ],
  [
    'a manifest read rate limited',
    `${T} retrying GET http://127.0.0.1:44843/v2/m/img/manifests/${MANIFEST}: TOOMANYREQUESTS: injected 429 by the fault proxy\n${T} retrying GET http://127.0.0.1:44843/v2/m/img/manifests/${MANIFEST}: TOOMANYREQUESTS: injected 429 by the fault proxy\nError: fetching "127.0.0.1:44843/m/img@${MANIFEST}": GET http://127.0.0.1:44843/v2/m/img/manifests/${MANIFEST}: TOOMANYREQUESTS: injected 429 by the fault proxy`,
    'a registry refused with 429 Too Many Requests (rate limited)',
    false,
    true
  ],
  [
    // A 429 on an upload is rate limiting, not the target failing to store.
    'an upload rate limited',
    `${T} retrying PATCH ${CRANE_UPLOAD}?_state=REDACTED: TOOMANYREQUESTS: injected 429 by the fault proxy\nError: PATCH ${CRANE_UPLOAD}?_state=REDACTED: TOOMANYREQUESTS: injected 429 by the fault proxy`,
    'a registry refused with 429 Too Many Requests (rate limited)',
    false,
    true
  ],
  [
    'a manifest read answered 503',
    `${T} retrying GET http://127.0.0.1:44843/v2/m/img/manifests/${MANIFEST}: UNAVAILABLE: injected 503 by the fault proxy\nError: fetching "127.0.0.1:44843/m/img@${MANIFEST}": GET http://127.0.0.1:44843/v2/m/img/manifests/${MANIFEST}: UNAVAILABLE: injected 503 by the fault proxy`,
    'a registry answered with a server error',
    false,
    true
  ],
  [
    'an upload answered 503',
    `${T} retrying PATCH ${CRANE_UPLOAD}?_state=REDACTED: UNAVAILABLE: injected 503 by the fault proxy\nError: PATCH ${CRANE_UPLOAD}?_state=REDACTED: UNAVAILABLE: injected 503 by the fault proxy`,
    'the target answered 503 Service Unavailable on an upload (overloaded or in maintenance)',
    false,
    true
  ],
  [
    // The target's disk full: the upload cannot even start.
    'the target disk full: starting an upload',
    `${T} retrying without mount: POST http://127.0.0.1:36031/v2/m/img/blobs/uploads/?from=m%2Fimg&mount=sha256%3Af461&origin=REDACTED: ${ENOSPC('_uploads/5b03e6f6-95ea-4430-8008-351fda02b7ad/startedat')}\n${T} retrying POST http://127.0.0.1:36031/v2/m/img/blobs/uploads/: ${ENOSPC('_uploads/9c585af2-edad-49d9-8afc-5358bd4256a9/startedat')}\nError: POST http://127.0.0.1:36031/v2/m/img/blobs/uploads/: ${ENOSPC('_uploads/34237d17-29db-4548-b88a-6a19a59d2ce9/startedat')}`,
    'the target failed to store the image (it answered a server error on an upload)',
    false,
    true
  ],
  [
    // The disk full while a blob was linked into the repository: from then on docker-registry
    // answers a HEAD of that blob there with a 500.
    'the target disk full: a blob linked empty',
    `${T} retrying PUT ${CRANE_UPLOAD}?_state=REDACTED&digest=sha256%3A2a08: ${ENOSPC(`_layers/sha256/${BLOB.slice(7)}/link`)}\n${T} retrying HEAD http://127.0.0.1:36031/v2/m/img/blobs/${BLOB}: unexpected status code 500 Internal Server Error (HEAD responses have no body, use GET for details)\nError: HEAD http://127.0.0.1:36031/v2/m/img/blobs/${BLOB}: unexpected status code 500 Internal Server Error (HEAD responses have no body, use GET for details)`,
    'the target failed to store the image (it answered a server error while the image was being written)',
    false,
    true
  ],
  [
    'an image that is not there',
    `${T} Copying from 127.0.0.1:44229/a/b@sha256:aaaa to 127.0.0.1:34131/m/x:1\nError: fetching "127.0.0.1:44229/a/b@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa": GET http://127.0.0.1:44229/v2/a/b/manifests/sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa: MANIFEST_UNKNOWN: manifest unknown; map[Name:a/b Revision:sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]`,
    undefined,
    true,
    false
  ],
  [
    'the target refusing the credentials',
    `${T} Copying from 127.0.0.1:44229/a/b@sha256:6fd5 to 127.0.0.1:34131/m/x:1\nError: HEAD http://127.0.0.1:34131/v2/m/x/manifests/1: unexpected status code 401 Unauthorized (HEAD responses have no body, use GET for details)`,
    'a registry refused the credentials given for it, or asked for some (401 Unauthorized)',
    true,
    false
  ],
  [
    'a platform the index lacks',
    `${T} Copying from 127.0.0.1:44229/a/b@sha256:6fd5 to 127.0.0.1:34131/m/x:1\nError: no child with platform linux/s390x in index 127.0.0.1:44229/a/b@sha256:6fd54dcb782a5bebe797c10dcae3644f89643cd9dc3c10355b7f511804faa163`,
    undefined,
    true,
    false
  ],
  [
    'a reference crane cannot read',
    'Error: parsing reference "127.0.0.1:44229/A/b:1": could not parse reference: 127.0.0.1:44229/A/b:1',
    undefined,
    true,
    false
  ]
]

describe('reasons for faults, as crane words them', () => {
  it.each(CRANE)('%s', async (_what, stderr, cause, permanent, retried) => {
    const message = toolMessage(stderr)
    // cobra's last words alone, without its prefix and without crane's log lines.
    expect(message).toBe(toolMessage(stderr.split('\n').at(-1) as string))
    expect(message).not.toMatch(
      /^Error|_state=|\d{4}\/\d\d\/\d\d|retrying|Copying from|pushed blob/
    )
    if (cause === undefined) expect(explain(message)).toBeUndefined()
    else expect(explain(message)).toMatch(new RegExp(`^${cause.replace(/[()]/g, '\\$&')}`))
    expect(retriedByTool(stderr, message)).toBe(retried)

    // What runTool makes of it, exactly as crane exits.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reasons-crane-'))
    try {
      const tool = path.join(dir, 'crane')
      fs.writeFileSync(path.join(dir, 'stderr'), `${stderr}\n`)
      fs.writeFileSync(tool, `#!/bin/sh\ncat "${dir}/stderr" >&2\nexit 1\n`, { mode: 0o755 })
      const error = (await runTool('crane', tool, [], {}).catch((e: unknown) => e)) as EngineError
      expect(error).toBeInstanceOf(EngineError)
      expect(error.message).toBe(
        cause === undefined
          ? `crane exited with 1: ${message}`
          : `${explain(message)} (crane exited with 1: ${message})`
      )
      expect(error.permanent).toBe(permanent)
      expect(error.retried).toBe(retried)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it("takes crane's Error line, not a log line printed after it, and keeps a body that goes on over lines", () => {
    expect(
      toolMessage(
        `Error: PUT http://r/v2/m/img/manifests/1: unexpected status code 500 Internal Server Error: <html>\n<body>oops</body>\n${T} retrying EOF\n`
      )
    ).toBe(
      'PUT http://r/v2/m/img/manifests/1: unexpected status code 500 Internal Server Error: <html> | <body>oops</body>'
    )
  })

  it("takes registries' error codes as permanent, and never a word in a URL", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reasons-codes-'))
    const classify = async (stderr: string) => {
      fs.writeFileSync(path.join(dir, 'stderr'), `${stderr}\n`)
      const tool = path.join(dir, 'crane')
      fs.writeFileSync(tool, `#!/bin/sh\ncat "${dir}/stderr" >&2\nexit 1\n`, { mode: 0o755 })
      return ((await runTool('crane', tool, [], {}).catch((e: unknown) => e)) as EngineError)
        .permanent
    }
    try {
      // ECR's answer to a push into a repository that does not exist, in crane's form.
      expect(
        await classify(
          "Error: POST https://1234.dkr.ecr.eu-west-1.amazonaws.com/v2/foo/blobs/uploads/: NAME_UNKNOWN: The repository with name 'foo' does not exist in the registry with id '1234'"
        )
      ).toBe(true)
      expect(
        await classify('Error: PUT http://r/v2/m/manifests/1: MANIFEST_INVALID: manifest invalid')
      ).toBe(true)
      // A repository named for what it holds is not a refusal.
      expect(
        await classify(
          'Error: GET http://r/v2/team/denied-list/blobs/sha256:1: UNAVAILABLE: try later'
        )
      ).toBe(false)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('does not call a failure retried for a retry of another kind', () => {
    // The ping's EOF was retried; the 503 that ended it was not logged as retried.
    expect(
      retriedByTool(
        `${T} retrying EOF\nError: GET http://r/v2/m/manifests/1: UNAVAILABLE: down`,
        'GET http://r/v2/m/manifests/1: UNAVAILABLE: down'
      )
    ).toBe(false)
    // skopeo logs no retries.
    expect(retriedByTool(fatal('reading blob sha256:1: too many requests to registry'), 'x')).toBe(
      false
    )
  })
})
