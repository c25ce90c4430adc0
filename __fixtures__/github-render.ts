/**
 * A job summary or an issue comment as a person sees it on GitHub, in a real
 * browser: the text is rendered with GitHub's own markdown styles
 * (github-markdown-css; a comment's markdown through `marked` with GitHub
 * Flavored Markdown), inside a page laid out like GitHub's (a run's summary
 * beside the run's sidebar; a comment beside the sidebar), in headless
 * Chromium (Debian's `chromium`) at a given window width. It takes a
 * screenshot, and a script in the page measures where each problem row's
 * status and its reason land.
 *
 * The layout is a model, not GitHub's page: at 1,000 px GitHub gives a run's
 * summary about 600 px beside its 296 px sidebar, and a comment about 600 px
 * beside the avatar gutter and the 256 px sidebar; the model keeps those
 * widths (see LAYOUT), so what overflows here overflows there.
 */
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { marked } from 'marked'
import { ROOT } from './action-runner.js'

/** Where screenshots go (git-ignored), one file per rendering. */
export const SCREENSHOTS = path.join(ROOT, '.screenshots')

export function findChromium(): string | undefined {
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' })
    if (found.status === 0 && found.stdout.trim()) return found.stdout.trim()
  }
  return undefined
}

export interface Box {
  left: number
  right: number
  top: number
  bottom: number
}

export interface ProblemRow {
  /** The row's status cell text, e.g. `⛔ rejected`. */
  status: string
  /** The image as the row names it (its first code text after the status). */
  image: string
  statusBox: Box
  /** The list item under the table that gives this row's reason, if one names the image. */
  reason?: { text: string; box: Box }
}

export interface Rendering {
  screenshot: string
  width: number
  /** The text column GitHub would give the markdown. */
  column: Box
  /** The table is wider than its column (GitHub then scrolls it sideways). */
  tableOverflows: boolean
  /** The table's headers, in order. */
  headers: string[]
  problems: ProblemRow[]
  pageHeight: number
}

/** Widths of the model page at any window width: what sits beside the markdown column. */
const LAYOUT = {
  summary: { side: 'left', sidebar: 296, gutter: 0, padding: 24, boxPadding: 24 },
  comment: { side: 'right', sidebar: 256, gutter: 56, padding: 24, boxPadding: 16 }
} as const

function page(body: string, kind: keyof typeof LAYOUT): string {
  const css = fs.readFileSync(
    path.join(ROOT, 'node_modules', 'github-markdown-css', 'github-markdown-light.css'),
    'utf8'
  )
  const l = LAYOUT[kind]
  const sidebar = `<aside style="flex:0 0 ${l.sidebar}px;height:400px;background:#f6f8fa"></aside>`
  const main = `<main style="flex:1 1 auto;min-width:0;display:flex">
  <div style="flex:0 0 ${l.gutter}px"></div>
  <div style="flex:1 1 auto;min-width:0;border:1px solid #d0d7de;border-radius:6px;padding:${l.boxPadding}px">
    <article class="markdown-body" id="column">${body}</article>
  </div>
</main>`
  // The measuring script: problem rows (status first: ⛔ or ❌), and the list item giving each reason.
  const measure = `
const box = e => { const r = e.getBoundingClientRect(); return { left: r.left, right: r.right, top: r.top + scrollY, bottom: r.bottom + scrollY } }
const column = document.getElementById('column')
const table = column.querySelector('table')
const headers = table ? [...table.querySelectorAll('th')].map(th => th.textContent.trim()) : []
const items = [...column.querySelectorAll('li')]
const problems = []
for (const tr of table ? table.querySelectorAll('tr') : []) {
  const cells = tr.querySelectorAll('td')
  if (cells.length === 0) continue
  const status = cells[0].textContent.trim()
  if (!/^(⛔|❌|❔)/.test(status)) continue
  const code = tr.querySelector('td:nth-child(2) code')
  const image = code ? code.textContent.trim() : ''
  const item = items.find(li => image && li.textContent.includes(image))
  problems.push({ status, image, statusBox: box(cells[0]), ...(item ? { reason: { text: item.textContent.trim(), box: box(item) } } : {}) })
}
const out = { width: innerWidth, column: box(column), tableOverflows: table ? table.scrollWidth > table.clientWidth + 1 : false, headers, problems, pageHeight: document.documentElement.scrollHeight }
const pre = document.createElement('pre'); pre.id = 'measured'; pre.textContent = JSON.stringify(out); document.body.appendChild(pre)
`
  return `<!doctype html><html><head><meta charset="utf-8"><style>${css}
body{margin:0;font-family:-apple-system,BlinkMacSystemFont,"Segoe UI","Noto Sans",Helvetica,Arial,sans-serif}
#measured{display:none}</style></head>
<body><div style="display:flex;flex-direction:${l.side === 'left' ? 'row' : 'row-reverse'};gap:${l.padding}px;padding:${l.padding}px">${sidebar}${main}</div>
<script>${measure}</script></body></html>`
}

function chromium(binary: string, args: string[]): string {
  const run = spawnSync(
    binary,
    ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', ...args],
    { encoding: 'utf8', timeout: 90_000, maxBuffer: 64 * 1024 * 1024 }
  )
  if (run.status !== 0)
    throw new Error(`chromium failed (${run.status}): ${run.stderr.slice(-500)}`)
  return run.stdout
}

/**
 * Render `content` (a summary's HTML, or a comment's markdown) at `width` px, screenshot the
 * whole page to SCREENSHOTS/`name`.png and measure it.
 */
export function renderOnGitHub(
  content: { html: string } | { markdown: string },
  options: { name: string; width?: number; kind: keyof typeof LAYOUT }
): Rendering {
  const binary = findChromium()
  if (!binary) throw new Error('chromium is not installed (apt-get install chromium)')
  const width = options.width ?? 1000
  const body =
    'html' in content ? content.html : (marked.parse(content.markdown, { gfm: true }) as string)
  fs.mkdirSync(SCREENSHOTS, { recursive: true })
  const file = path.join(SCREENSHOTS, `${options.name}.html`)
  fs.writeFileSync(file, page(body, options.kind))
  const url = `file://${file}`
  const dom = chromium(binary, [`--window-size=${width},1000`, '--dump-dom', url])
  const json = /<pre id="measured"[^>]*>([\s\S]*?)<\/pre>/.exec(dom)?.[1]
  if (!json) throw new Error('the page did not measure itself')
  const measured = JSON.parse(
    json
      .replace(/&quot;/g, '"')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&')
  ) as Omit<Rendering, 'screenshot'>
  const screenshot = path.join(SCREENSHOTS, `${options.name}.png`)
  chromium(binary, [
    `--window-size=${width},${Math.ceil(measured.pageHeight)}`,
    `--screenshot=${screenshot}`,
    url
  ])
  return { ...measured, screenshot }
}

/** Whether a box lies within the window's width and the markdown column (nothing cut or scrolled off). */
export function isVisible(box: Box, rendering: Rendering): boolean {
  return (
    box.left >= Math.max(0, rendering.column.left) - 1 &&
    box.right <= Math.min(rendering.width, rendering.column.right) + 1
  )
}
