/**
 * Hostile issue requests: what strangers can type into an issue title or
 * body to reach a shell, the runner's command parser, the comment's markup,
 * or an image outside the allowlist. `source` is the test's source registry;
 * `canary` a file that must never come to exist.
 */
export interface HostileIssue {
  title: string
  body?: string
}

export function hostileIssues(source: string, canary: string): HostileIssue[] {
  const good = `${source}/library/nginx:1.27`
  const touch = `touch ${canary}`
  return [
    // Shell metacharacters, in the title and in body lines
    { title: `$(${touch})` },
    { title: `\`${touch}\`` },
    { title: `${good}; ${touch}` },
    { title: `${good} && ${touch}` },
    { title: `${good} | ${touch}` },
    { title: `${good}$(${touch})` },
    { title: `'; ${touch}; '` },
    { title: 'images', body: `${good}\n$(${touch})\n\`${touch}\`` },
    { title: `docker pull ${good} --platform=linux/amd64;${touch}` },
    // Workflow expressions
    { title: '${{ secrets.GITHUB_TOKEN }}' },
    { title: 'x', body: '${{ github.token }}\n${{ toJSON(github) }}' },
    { title: `${good}\${{ github.event.issue.title }}` },
    // Workflow commands, raw and smuggled
    { title: '::error::pwned' },
    { title: '::set-output name=results::[]' },
    { title: 'list', body: `::add-mask::x\n::stop-commands::abc\n${good}\n##[error]pwned` },
    { title: `${good}\n::error::pwned` },
    { title: `${good}%0A::error::pwned` },
    { title: `${good}\r::add-path::/tmp/evil` },
    { title: '::group::x', body: '::endgroup::\n::debug::x' },
    // HTML and Markdown
    { title: '<script>alert(1)</script>' },
    { title: '<img src=x onerror=alert(1)>' },
    { title: `[${good}](http://evil.example)` },
    { title: 'x', body: `![pic](http://evil.example/a.png)\n${good}<img src=x>` },
    { title: '@octocat please mirror', body: `@github ${good}` },
    { title: `${good}</code></td></tr></table><h1>owned</h1>` },
    { title: 'a | b | c', body: '| col |\n| --- |\n| <b>x</b> |' },
    { title: '<!-- hidden -->', body: '<details><summary>x</summary>y</details>' },
    // Look-alikes and homoglyphs
    { title: `${source}/library/../private/thing:1` },
    { title: `${source}/libraryx/nginx:1.27` },
    { title: `${source}/library/a/b:1` },
    { title: `${source}.evil.example/library/nginx:1.27` },
    { title: 'dоcker.io/library/nginx:latest' },
    { title: `${source}/library/nginх:1.27` },
    { title: 'ｎｇｉｎｘ' },
    { title: `${source}／library／nginx` },
    { title: `${source.toUpperCase()}/LIBRARY/NGINX:1.27` },
    // Control and invisible characters
    { title: `${good}\u0000` },
    { title: `${good}\u200b` },
    { title: `\u202e${good}` },
    { title: `${good}\u0007\u001b[31m` },
    // Size and count
    { title: 'big', body: `${good}\n${'A'.repeat(200 * 1024)}` },
    { title: 'many lines', body: `${good}\n`.repeat(5000) },
    { title: 'x'.repeat(5000) },
    { title: `${good},1.26,${'9'.repeat(300)}` },
    // A stranger's regex (catastrophic backtracking) and foreign formats
    { title: `${source}/library/nginx:/(a+)+$/` },
    { title: 'hub-mirror', body: '{"hub-mirror": ["nginx$mine:latest",]}' },
    { title: '', body: '' },
    { title: '🚀🔥', body: 'مرحبا\nשלום' }
  ]
}
