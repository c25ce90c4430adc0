/**
 * A stand-in for the GitHub REST API (which cannot be reached here): a local
 * HTTP server that records each request the real Octokit client sends and
 * answers the issue endpoints the way GitHub does. Point GITHUB_API_URL at it.
 */
import * as fs from 'node:fs'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { ROOT } from './action-runner.js'

export interface ApiCall {
  method: string
  path: string
  body: unknown
  authorization?: string
}

export interface GitHubApi {
  url: string
  calls: ApiCall[]
  /** Answer every request with this status (e.g. 403) until reset. */
  failWith(status: number | undefined): void
  close(): Promise<void>
}

export async function startGitHubApi(): Promise<GitHubApi> {
  const calls: ApiCall[] = []
  let failure: number | undefined
  let nextId = 1_900_000_000
  const server = http.createServer((req, res) => {
    let raw = ''
    req.on('data', (c: Buffer) => (raw += c.toString()))
    req.on('end', () => {
      const body: unknown = raw ? JSON.parse(raw) : undefined
      const url = req.url ?? ''
      calls.push({
        method: req.method ?? '',
        path: decodeURIComponent(url),
        body,
        ...(req.headers.authorization ? { authorization: req.headers.authorization } : {})
      })
      const send = (status: number, payload: unknown) => {
        res.statusCode = status
        res.setHeader('content-type', 'application/json; charset=utf-8')
        res.setHeader('x-github-request-id', `STAND-IN:${calls.length}`)
        res.end(JSON.stringify(payload))
      }
      if (failure) {
        return send(failure, {
          message: 'Resource not accessible by integration',
          documentation_url: 'https://docs.github.com/rest/issues/comments#create-an-issue-comment',
          status: String(failure)
        })
      }
      const issue = /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)(\/.*)?$/.exec(url)
      if (!issue) return send(404, { message: 'Not Found' })
      const [, owner, repo, number, rest = ''] = issue
      const html = `https://github.com/${owner}/${repo}/issues/${number}`
      const input = (body ?? {}) as Record<string, unknown>
      if (req.method === 'POST' && rest === '/comments') {
        const id = nextId++
        return send(201, {
          id,
          node_id: `IC_${id}`,
          url: `https://api.github.com/repos/${owner}/${repo}/issues/comments/${id}`,
          html_url: `${html}#issuecomment-${id}`,
          body: input.body,
          user: { login: 'github-actions[bot]', type: 'Bot' },
          created_at: new Date().toISOString()
        })
      }
      if (req.method === 'POST' && rest === '/labels') {
        const labels = (input.labels as string[]) ?? []
        return send(
          200,
          labels.map((name, i) => ({ id: 7_000_000 + i, name, color: 'ededed', default: false }))
        )
      }
      if (req.method === 'DELETE' && rest.startsWith('/labels/')) return send(200, [])
      if (req.method === 'PATCH' && rest === '') {
        return send(200, {
          number: Number(number),
          html_url: html,
          state: input.state ?? 'open',
          state_reason: input.state_reason ?? null
        })
      }
      return send(404, { message: 'Not Found' })
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    failWith: status => {
      failure = status
    },
    close: () => new Promise<void>(resolve => server.close(() => resolve()))
  }
}

/**
 * An `issues` event payload modelled on a real one (events/issues-opened.json),
 * with the title, body, action and labels given; written to a file for
 * GITHUB_EVENT_PATH.
 */
export function issueEvent(options: {
  title: string
  body?: string
  action?: string
  labels?: string[]
  number?: number
  state?: 'open' | 'closed'
}): string {
  const payload = JSON.parse(
    fs.readFileSync(path.join(ROOT, '__fixtures__', 'events', 'issues-opened.json'), 'utf8')
  ) as { action: string; issue: Record<string, unknown> }
  payload.action = options.action ?? 'opened'
  payload.issue.title = options.title
  payload.issue.body = options.body ?? null
  if (options.number) payload.issue.number = options.number
  if (options.state) payload.issue.state = options.state
  payload.issue.labels = ['sync image', ...(options.labels ?? [])].map((name, i) => ({
    id: 6_510_987_654 + i,
    name,
    color: 'ededed',
    default: false
  }))
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'issue-event-')), 'event.json')
  fs.writeFileSync(file, JSON.stringify(payload))
  return file
}

/** The runner's environment for an issues-triggered run against the stand-in. */
export function issueEnv(api: GitHubApi, eventPath: string): Record<string, string> {
  return {
    GITHUB_EVENT_NAME: 'issues',
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_REPOSITORY: 'acme/mirror',
    GITHUB_API_URL: api.url,
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_SHA: 'ffac537e6cbbf934b08745a378932722df287a53',
    GITHUB_RUN_ID: '4242',
    GITHUB_RUN_ATTEMPT: '1'
  }
}
