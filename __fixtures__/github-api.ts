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

export interface CommentAuthor {
  login: string
  type: 'Bot' | 'User'
}

/** A comment as GitHub returns it (the fields the action reads, and a few more). */
export interface StoredComment {
  id: number
  node_id: string
  url: string
  html_url: string
  body: string
  user: CommentAuthor
  created_at: string
  updated_at: string
}

/** What the action's token comments as. */
export const ACTION_BOT: CommentAuthor = { login: 'github-actions[bot]', type: 'Bot' }

export interface GitHubApi {
  url: string
  calls: ApiCall[]
  /** Answer every request with this status (e.g. 403) until reset. */
  failWith(status: number | undefined): void
  /** The comments on an issue, oldest first, as GitHub lists them (`acme/mirror` unless named). */
  comments(number: number, repository?: string): StoredComment[]
  /** Add a comment as someone else: by default a stranger (`type: 'User'`). */
  addComment(
    number: number,
    body: string,
    options?: { user?: CommentAuthor; repository?: string }
  ): StoredComment
  close(): Promise<void>
}

const REPOSITORY = 'acme/mirror'

export async function startGitHubApi(): Promise<GitHubApi> {
  const calls: ApiCall[] = []
  let failure: number | undefined
  let nextId = 1_900_000_000
  // Comments by `owner/repo#number`, and where each id lives.
  const threads = new Map<string, StoredComment[]>()
  const byId = new Map<number, { repository: string; comment: StoredComment }>()
  const thread = (repository: string, number: number) => {
    const key = `${repository}#${number}`
    const list = threads.get(key) ?? []
    threads.set(key, list)
    return list
  }
  const addComment = (
    repository: string,
    number: number,
    body: string,
    user: CommentAuthor
  ): StoredComment => {
    const id = nextId++
    const now = new Date().toISOString()
    const comment: StoredComment = {
      id,
      node_id: `IC_${id}`,
      url: `https://api.github.com/repos/${repository}/issues/comments/${id}`,
      html_url: `https://github.com/${repository}/issues/${number}#issuecomment-${id}`,
      body,
      user: { ...user },
      created_at: now,
      updated_at: now
    }
    thread(repository, number).push(comment)
    byId.set(id, { repository, comment })
    return comment
  }

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
      const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
        res.statusCode = status
        res.setHeader('content-type', 'application/json; charset=utf-8')
        res.setHeader('x-github-request-id', `STAND-IN:${calls.length}`)
        for (const [name, value] of Object.entries(headers)) res.setHeader(name, value)
        res.end(JSON.stringify(payload))
      }
      if (failure) {
        return send(failure, {
          message: 'Resource not accessible by integration',
          documentation_url: 'https://docs.github.com/rest/issues/comments#create-an-issue-comment',
          status: String(failure)
        })
      }
      const base = `http://${req.headers.host ?? '127.0.0.1'}`
      const { pathname, searchParams } = new URL(url, base)
      const input = (body ?? {}) as Record<string, unknown>

      const edit = /^\/repos\/([^/]+)\/([^/]+)\/issues\/comments\/(\d+)$/.exec(pathname)
      if (edit) {
        const [, owner, repo, id] = edit
        const found = byId.get(Number(id))
        if (!found || found.repository !== `${owner}/${repo}`) {
          return send(404, { message: 'Not Found' })
        }
        if (req.method === 'PATCH') {
          found.comment.body = String(input.body ?? '')
          found.comment.updated_at = new Date().toISOString()
        } else if (req.method !== 'GET') return send(404, { message: 'Not Found' })
        return send(200, found.comment)
      }

      const issue = /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)(\/.*)?$/.exec(pathname)
      if (!issue) return send(404, { message: 'Not Found' })
      const [, owner, repo, number, rest = ''] = issue
      const repository = `${owner}/${repo}`
      const html = `https://github.com/${repository}/issues/${number}`
      if (req.method === 'POST' && rest === '/comments') {
        return send(
          201,
          addComment(repository, Number(number), String(input.body ?? ''), ACTION_BOT)
        )
      }
      if (req.method === 'GET' && rest === '/comments') {
        // Pages as GitHub serves them: per_page up to 100 (30 by default), a Link header onwards.
        const perPage = Math.min(100, Math.max(1, Number(searchParams.get('per_page') ?? 30) || 30))
        const page = Math.max(1, Number(searchParams.get('page') ?? 1) || 1)
        const all = thread(repository, Number(number))
        const last = Math.max(1, Math.ceil(all.length / perPage))
        const link = (p: number, rel: string) =>
          `<${base}${pathname}?per_page=${perPage}&page=${p}>; rel="${rel}"`
        const links = [
          ...(page > 1 ? [link(page - 1, 'prev')] : []),
          ...(page < last ? [link(page + 1, 'next'), link(last, 'last')] : []),
          ...(page > 1 ? [link(1, 'first')] : [])
        ]
        return send(
          200,
          all.slice((page - 1) * perPage, page * perPage),
          links.length > 0 ? { link: links.join(', ') } : {}
        )
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
    comments: (number, repository = REPOSITORY) =>
      thread(repository, number).map(c => ({ ...c, user: { ...c.user } })),
    addComment: (number, body, options = {}) =>
      addComment(
        options.repository ?? REPOSITORY,
        number,
        body,
        options.user ?? { login: 'octocat', type: 'User' }
      ),
    close: () => new Promise<void>(resolve => server.close(() => resolve()))
  }
}

/** Hostile prose: each would notify, reference or link if it reached GitHub as text. */
export const HOSTILE_PROSE: readonly string[] = [
  '@octocat please look',
  'cc @acme/security-team',
  'fixes #1',
  'see GH-1 and gh-2',
  'acme/mirror#1',
  'https://evil.example/x?y=1',
  'HTTP://EVIL.EXAMPLE',
  'ftp://evil.example/f',
  'www.evil.example/path',
  'WWW.EVIL.EXAMPLE',
  'mail a@b.example or mailto:x.y+z@evil.example',
  '[x](http://evil)',
  '![img](https://evil.example/i.png)',
  '<https://evil.example>',
  '<img src=x onerror=alert(1)>',
  '<!-- hidden --> text',
  '${{ secrets.GITHUB_TOKEN }}',
  'acme/mirror@abcdef1',
  '&#64;octocat &#35;1 typed as entities'
]

/**
 * What GitHub would turn into a mention, a reference or a link in a comment
 * or summary, written as its patterns: it decodes entities first, and skips
 * code (`<code>`, `<pre>`, fenced blocks), so these run on the decoded text
 * outside code. U+2060 (word joiner) is not a word character: it breaks them.
 */
export const GITHUB_PATTERNS: Readonly<Record<string, RegExp>> = {
  mention: /(?<![\w`])@[a-z\d][a-z\d-]*(?:\/[\w-]+)?/gi,
  issue: /(?<!\w)#\d+/g,
  crossRepository: /[\w.-]+\/[\w.-]+#\d+/g,
  gh: /\bgh-\d+/gi,
  url: /\b(?:https?|ftp):\/\/[^\s<]/gi,
  www: /(?<![\w.])www\.[\w-]/gi,
  email: /[\w.+-]+@[\w-]+(?:\.[\w-]+)+/g
}

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }

/** HTML entities decoded once, as a browser (and GitHub) reads them. */
export function decodeEntities(html: string): string {
  return html.replace(/&(#\d+|#x[\da-f]+|[a-z]+);/gi, (entity, name: string) => {
    if (name.startsWith('#x') || name.startsWith('#X')) {
      return String.fromCodePoint(parseInt(name.slice(2), 16))
    }
    if (name.startsWith('#')) return String.fromCodePoint(Number(name.slice(1)))
    return Object.hasOwn(NAMED, name) ? (NAMED[name] as string) : entity
  })
}

/**
 * The text a reader sees outside code, with the action's own links to
 * github.com left out: code blocks and spans removed, tags dropped, entities decoded.
 */
export function proseOf(markdown: string): string {
  return decodeEntities(
    markdown
      .replace(/```[\s\S]*?```/g, ' ')
      .replace(/<pre[\s\S]*?<\/pre>/g, ' ')
      .replace(/<code[^>]*>[\s\S]*?<\/code>/g, ' ')
      .replace(/\]\(https:\/\/github\.com\/[^)\s]*\)/g, ']')
      .replace(/<[^>]*>/g, ' ')
  )
}

/** Every mention, reference and autolink GitHub would make of `markdown`'s prose. */
export function githubLinks(markdown: string): string[] {
  const prose = proseOf(markdown)
  return Object.entries(GITHUB_PATTERNS).flatMap(([kind, pattern]) =>
    [...prose.matchAll(pattern)].map(m => `${kind}: ${m[0]}`)
  )
}

/** The comment bodies these calls wrote: new comments and earlier answers updated in place. */
export function answersIn(calls: readonly ApiCall[]): string[] {
  return calls
    .filter(
      c =>
        (c.method === 'POST' && /\/issues\/\d+\/comments$/.test(c.path)) ||
        (c.method === 'PATCH' && /\/issues\/comments\/\d+$/.test(c.path))
    )
    .map(c => (c.body as { body: string }).body)
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
