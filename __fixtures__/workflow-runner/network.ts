/**
 * The runner's network: github.com's release downloads (for the crane the
 * action installs) through a TLS-intercepting proxy on loopback.
 */
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as http from 'node:http'
import * as https from 'node:https'
import type { AddressInfo, Socket } from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'

export interface GitHubDownloads {
  /** For every action (WorkflowRunOptions.env): https_proxy and NODE_EXTRA_CA_CERTS. */
  env: Record<string, string>
  /** What reached the proxy, in order: `CONNECT host:port`, then `GET github.com/<path>` inside. */
  requests(): string[]
  close(): Promise<void>
}

/**
 * github.com's release downloads as a runner behind a corporate TLS proxy
 * reaches them: actions get `https_proxy` (a proxy on loopback) and
 * `NODE_EXTRA_CA_CERTS` (a CA made here with openssl, one day valid); the
 * proxy terminates TLS for github.com with a certificate of that CA and
 * answers `https://github.com/<owner>/<repo>/releases/download/<tag>/<file>`
 * from `releases[<owner>/<repo>]` (`<base>/<tag>/<file>`, e.g. a crane release
 * server). Any other host or path is refused, so nothing leaves the machine.
 * A workflow's `uses:` cannot change an action's download URL, so this is how
 * a workflow run installs crane from a local release.
 */
export async function startGitHubDownloads(
  releases: Record<string, string>
): Promise<GitHubDownloads> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runner-network-'))
  const openssl = (...args: string[]) => {
    const run = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' })
    if (run.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${run.stderr}`)
  }
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  openssl(
    'req',
    '-x509',
    ...key,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '1',
    '-subj',
    '/CN=workflow-runner test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign'
  )
  openssl('req', ...key, '-keyout', 'github.key', '-out', 'github.csr', '-subj', '/CN=github.com')
  fs.writeFileSync(
    path.join(dir, 'github.ext'),
    'subjectAltName=DNS:github.com\nextendedKeyUsage=serverAuth\n'
  )
  openssl(
    'x509',
    '-req',
    '-in',
    'github.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    'github.ext',
    '-out',
    'github.crt'
  )

  const log: string[] = []
  const github = https.createServer(
    {
      key: fs.readFileSync(path.join(dir, 'github.key')),
      cert: fs.readFileSync(path.join(dir, 'github.crt'))
    },
    (req, res) => {
      const pathname = new URL(req.url ?? '/', 'https://github.com').pathname
      log.push(`${req.method} github.com${pathname}`)
      const match = /^\/([^/]+\/[^/]+)\/releases\/download\/(.+)$/.exec(pathname)
      const base = match ? releases[match[1] as string] : undefined
      if (!base || req.method !== 'GET') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found')
        return
      }
      fetch(`${base}/${match?.[2]}`).then(
        async upstream => {
          const body = Buffer.from(await upstream.arrayBuffer())
          res.writeHead(upstream.status, {
            'content-type': upstream.headers.get('content-type') ?? 'application/octet-stream',
            'content-length': body.length
          })
          res.end(body)
        },
        (error: Error) => res.writeHead(502, { 'content-type': 'text/plain' }).end(error.message)
      )
    }
  )
  const proxy = http.createServer((req, res) => {
    log.push(`${req.method} ${req.url}`)
    res.writeHead(403, { 'content-type': 'text/plain' }).end('Only github.com over HTTPS here')
  })
  proxy.on('connect', (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    log.push(`CONNECT ${req.url}`)
    socket.on('error', () => undefined)
    if (req.url !== 'github.com:443') {
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n')
      return
    }
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n')
    if (head.length > 0) socket.unshift(head)
    // The TLS server takes the tunnel as one of its own connections.
    github.emit('connection', socket)
  })
  await new Promise<void>(resolve => proxy.listen(0, '127.0.0.1', resolve))
  const port = (proxy.address() as AddressInfo).port
  return {
    env: {
      https_proxy: `http://127.0.0.1:${port}`,
      NODE_EXTRA_CA_CERTS: path.join(dir, 'ca.crt')
    },
    requests: () => [...log],
    close: async () => {
      proxy.closeAllConnections()
      github.closeAllConnections()
      await new Promise(resolve => proxy.close(resolve))
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}
