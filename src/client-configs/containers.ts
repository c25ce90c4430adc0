/**
 * containers-registries.conf (podman, buildah, skopeo, CRI-O): a mirror per
 * registry prefix, or per repository where the template maps them one by one.
 */
import { CONFIG_PATHS } from './model.js'
import { joinName, type Layout, type Location } from './layout.js'
import { toml, type Context, type Rendered } from './renderer.js'

function registriesConf(layouts: readonly Layout[], c: Context): string {
  const lines = [
    ...c.header.map(l => `# ${l}`),
    '# Install: /etc/containers/registries.conf.d/50-image-mirror.conf (podman, buildah, skopeo,',
    '# CRI-O), or try it: skopeo --registries-conf registries.conf inspect docker://IMAGE',
    '# Mirrors are used for pulls only; pushes still go to the source.'
  ]
  const entry = (prefix: string, mirror: Location, source: string) => {
    lines.push('', '[[registry]]', `prefix = ${toml(prefix)}`, `location = ${toml(prefix)}`)
    if (c.insecure(source)) lines.push('insecure = true')
    lines.push('', '[[registry.mirror]]', `location = ${toml(joinName(mirror))}`)
    if (c.insecure(mirror.host)) lines.push('insecure = true')
  }
  for (const layout of layouts) {
    if (layout.kind === 'prefix') entry(layout.registry, layout.mirror, layout.registry)
    else {
      for (const r of layout.repositories) {
        entry(`${layout.registry}/${r.repository}`, r.mirror, layout.registry)
      }
    }
  }
  return `${lines.join('\n')}\n`
}

export function renderContainers(layouts: readonly Layout[], c: Context): Rendered {
  // A registry the run mirrored no repository from has nothing to list (said in the shared note).
  const listed = layouts.filter(l => l.kind === 'prefix' || l.repositories.length > 0)
  if (listed.length === 0) return { files: [], notes: [] }
  return {
    files: [
      { client: 'containers', path: CONFIG_PATHS.containers, content: registriesConf(listed, c) }
    ],
    notes: []
  }
}
