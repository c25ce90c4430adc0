/**
 * k3s registries.yaml: one mirror endpoint per registry, with rewrites for a
 * path prefix or for each repository of the run.
 */
import { CONFIG_PATHS, type ConfigNote } from './model.js'
import type { Layout } from './layout.js'
import { apiHost, toml, type Context, type Rendered } from './renderer.js'

/** A Go (RE2) regular expression matching `text` literally. */
function literalRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

export function renderK3s(layouts: readonly Layout[], c: Context): Rendered {
  const notes: ConfigNote[] = []
  const lines = [
    ...c.header.map(l => `# ${l}`),
    '# Install: /etc/rancher/k3s/registries.yaml on every node, then restart k3s (k3s-agent).',
    '# Rewrites apply to the mirror only; the source (default endpoint) is tried last as is.',
    'mirrors:'
  ]
  let entries = 0
  for (const layout of layouts) {
    const rules: [string, string][] = []
    let host: string
    if (layout.kind === 'prefix') {
      host = layout.mirror.host
      if (layout.mirror.path) rules.push(['^(.*)$', `${layout.mirror.path}/\${1}`])
    } else {
      const hosts = [...new Set(layout.repositories.map(r => r.mirror.host))]
      // No repositories: said once for every client (see byRepositoryNote).
      if (hosts.length === 0) continue
      if (hosts.length > 1) {
        notes.push({
          client: 'k3s',
          text: `No entry for ${layout.registry}: its repositories land on several hosts (${hosts.join(', ')}), and one k3s mirror rewrites for all its endpoints alike.`
        })
        continue
      }
      host = hosts[0] as string
      for (const r of layout.repositories) {
        rules.push([`^${literalRegex(r.repository)}$`, r.mirror.path])
      }
    }
    entries++
    lines.push(`  ${toml(layout.registry)}:`, '    endpoint:')
    lines.push(`      - ${toml(`${c.scheme(host)}://${apiHost(host)}`)}`)
    if (rules.length > 0) {
      lines.push('    rewrite:')
      for (const [pattern, replacement] of rules) {
        lines.push(`      ${toml(pattern)}: ${toml(replacement)}`)
      }
    }
  }
  if (entries === 0) return { files: [], notes }
  const plain = layouts.map(l => l.registry).filter(r => c.insecure(r))
  if (plain.length > 0) {
    notes.push({
      client: 'k3s',
      text: `k3s falls back to ${plain.join(', ')} through its default endpoint, https://<registry>/v2: from a plain-HTTP source, an image the mirror lacks may not be found.`
    })
  }
  const content = `${lines.join('\n')}\n`
  return { files: [{ client: 'k3s', path: CONFIG_PATHS.k3s, content }], notes }
}
