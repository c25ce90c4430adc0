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
 * summary about 600 px beside its 296 px sidebar, below the page's header and
 * the run's title (about 180 px), and a comment about 600 px beside the avatar
 * gutter and the 256 px sidebar; the model keeps those sizes (see LAYOUT), so
 * what overflows here overflows there. "The first screen" is a window of
 * 1,000 × 900 px: the summary as the run page opens, a comment as a link to it
 * opens (its top at the top of the window).
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
  /** The image as the row names it: as asked and, when it differs, as read. */
  image: string
  statusBox: Box
  /**
   * The item of the list of what went wrong ("Needs attention" in a summary, "Why" in a
   * comment) that names exactly this image, if there is one.
   */
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
  /** Where the first screen starts on the page: 0 for a summary, the comment's top for a comment. */
  screenTop: number
  /** The first screen's height. */
  screenHeight: number
}

/** The window: 1,000 px wide (the measure), 900 px tall. */
export const FIRST_SCREEN_HEIGHT = 900

/** Widths of the model page at any window width: what sits beside the markdown column. */
const LAYOUT = {
  summary: { side: 'left', sidebar: 296, gutter: 0, padding: 24, boxPadding: 24, header: 180 },
  comment: { side: 'right', sidebar: 256, gutter: 56, padding: 24, boxPadding: 16, header: 180 }
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
  // The measuring script: problem rows (status first: ⛔, ❌ or ❔) and, in the list of what
  // went wrong, the item that names the same image: as asked and, when it differs, as read.
  const measure = `
const box = e => { const r = e.getBoundingClientRect(); return { left: r.left, right: r.right, top: r.top + scrollY, bottom: r.bottom + scrollY } }
const column = document.getElementById('column')
const table = column.querySelector('table')
const headers = table ? [...table.querySelectorAll('th')].map(th => th.textContent.trim()) : []
const titles = [...column.querySelectorAll('h3, p')].filter(e => /^(Needs attention|Why)$/.test(e.textContent.trim()))
const items = titles.flatMap(t => t.nextElementSibling && t.nextElementSibling.tagName === 'UL' ? [...t.nextElementSibling.children] : [])
const names = (e, n) => [...e.querySelectorAll('code')].slice(0, n).map(c => c.textContent.trim()).join(' | ')
const problems = []
for (const tr of table ? table.querySelectorAll('tr') : []) {
  const cells = tr.querySelectorAll('td')
  if (cells.length < 2) continue
  const status = cells[0].textContent.trim()
  if (!/^(⛔|❌|❔)/.test(status)) continue
  const read = /→|read as/.test(cells[1].textContent) ? 2 : 1
  const image = names(cells[1], read)
  const item = items.find(li => image && names(li, read) === image)
  problems.push({ status, image, statusBox: box(cells[0]), ...(item ? { reason: { text: item.textContent.trim(), box: box(item) } } : {}) })
}
const out = { width: innerWidth, column: box(column), tableOverflows: table ? table.scrollWidth > table.clientWidth + 1 : false, headers, problems, pageHeight: document.documentElement.scrollHeight, screenTop: ${kind === 'comment' ? 'box(column.parentElement).top' : '0'}, screenHeight: ${FIRST_SCREEN_HEIGHT} }
const pre = document.createElement('pre'); pre.id = 'measured'; pre.textContent = JSON.stringify(out); document.body.appendChild(pre)
`
  return `<!doctype html><html><head><meta charset="utf-8"><style>${css}
body{margin:0;font-family:-apple-system,BlinkMacSystemFont,"Segoe UI","Noto Sans",Helvetica,Arial,sans-serif}
#measured{display:none}</style></head>
<body><header style="height:${l.header}px;background:#24292f"></header><div style="display:flex;flex-direction:${l.side === 'left' ? 'row' : 'row-reverse'};gap:${l.padding}px;padding:${l.padding}px">${sidebar}${main}</div>
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

/**
 * Whether a box lies within the window's width and the markdown column (nothing cut or
 * scrolled off sideways) and, when `firstScreen`, on the first screen.
 */
export function isVisible(box: Box, rendering: Rendering, firstScreen = false): boolean {
  const across =
    box.left >= Math.max(0, rendering.column.left) - 1 &&
    box.right <= Math.min(rendering.width, rendering.column.right) + 1
  return across && (!firstScreen || box.bottom <= rendering.screenTop + rendering.screenHeight)
}
