/**
 * containerd: one certs.d/<registry>/hosts.toml per registry kept under one
 * path prefix, the only layout override_path can express.
 */
import { CONFIG_PATHS, type ConfigFile, type ConfigNote } from './model.js'
import type { Layout } from './layout.js'
import { apiHost, toml, type Context, type Rendered } from './renderer.js'

function hostsToml(layout: Extract<Layout, { kind: 'prefix' }>, c: Context): string {
  const { host, path } = layout.mirror
  const base = `${c.scheme(host)}://${apiHost(host)}`
  // A URL with a path is taken as the API root: spell out /v2/ and keep the path as given.
  const url = path ? `${base}/v2/${path}` : base
  const lines = [
    ...c.header.map(l => `# ${l}`),
    `# Install: /etc/containerd/certs.d/${layout.registry}/hosts.toml, with config_path =`,
    '# "/etc/containerd/certs.d" in containerd\'s CRI registry section; or try it:',
    `# ctr images pull --hosts-dir <the certs.d folder holding ${layout.registry}/> IMAGE`,
    `server = ${toml(`${c.scheme(layout.registry)}://${apiHost(layout.registry)}`)}`,
    '',
    `[host.${toml(url)}]`,
    '  capabilities = ["pull", "resolve"]'
  ]
  if (path) lines.push('  override_path = true')
  return `${lines.join('\n')}\n`
}

export function renderContainerd(layouts: readonly Layout[], c: Context): Rendered {
  const files: ConfigFile[] = []
  const notes: ConfigNote[] = []
  for (const layout of layouts) {
    if (layout.kind === 'prefix') {
      files.push({
        client: 'containerd',
        path: `${CONFIG_PATHS.containerd}/${layout.registry}/hosts.toml`,
        content: hostsToml(layout, c)
      })
    }
  }
  const byRepository = layouts.filter(l => l.kind === 'repositories')
  if (byRepository.length > 0) {
    notes.push({
      client: 'containerd',
      text: `No hosts.toml for ${byRepository.map(l => l.registry).join(', ')}: containerd can only put one path prefix in front of every repository of a registry (override_path), and the rewrite template "${c.request.template}" does not keep the repository path under one. Pull the mirrored names instead.`
    })
  }
  return { files, notes }
}
