/**
 * The reasons users read when a copy meets a fault: skopeo's last words, as
 * skopeo 1.9.3 printed them in the fault end-to-end tests (faults.e2e), turned
 * into the plain cause first and the tool's message after it.
 */
import { describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { EngineError, explain, runTool, toolMessage } from '../src/engines/engine.js'

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
