// Markdown for GitHub's job summary, safe for text the action does not control: error messages,
// EMR's FailureDetails, a step's stderr, source descriptions, S3 keys. Such text must not become
// markup (a link, a heading, an HTML tag, a closed code fence) nor break a table.

/**
 * Inline text on one line: what could open markup anywhere is escaped (emphasis, code, links
 * and images, HTML, entities, table pipes, strikethrough), and a block marker at its start (a
 * heading, list or quote). Other punctuation stays as it is, so the source stays readable.
 */
export function text(value: string): string {
  return oneLine(value)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/[\\`*_[\]|~]/g, (c) => `\\${c}`)
    .replace(/^([#+=-]|\d+(?=[.)]))/, (m) => (/^\d/.test(m) ? `${m}\\` : `\\${m}`))
}

/**
 * An inline code span that holds any text: the fence is longer than the longest run of
 * backticks inside, and a space pads text that starts or ends with one (CommonMark strips one).
 * Pipes are escaped even here: GFM splits table cells before it reads code spans.
 */
export function code(value: string): string {
  const content = oneLine(value).replace(/\|/g, '\\|')
  const longest = Math.max(0, ...[...content.matchAll(/`+/g)].map((m) => m[0].length))
  const fence = '`'.repeat(longest + 1)
  const pad = content.startsWith('`') || content.endsWith('`') || content === '' ? ' ' : ''
  return `${fence}${pad}${content}${pad}${fence}`
}

/** A fenced block whose fence no line inside can close. */
export function fenced(lines: readonly string[], info = ''): string[] {
  const longest = Math.max(0, ...lines.map((l) => /^\s*(`+)/.exec(l)?.[1]?.length ?? 0))
  const fence = '`'.repeat(Math.max(3, longest + 1))
  return [`${fence}${info}`, ...lines, fence]
}

/** Text for inside an HTML element (a `<summary>`): no tag can open, no entity can form. */
export function html(value: string): string {
  return oneLine(value)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
}

/** A link whose target is one the action built (a console or run URL); the label is escaped. */
export function link(label: string, url: string | undefined): string {
  if (!url || !/^https:\/\/[^\s()<>]+$/.test(url)) return label
  return `[${label}](${url})`
}

/** A table: a header row that says what each column holds, then the rows (cells given as markdown). */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string[] {
  const row = (cells: readonly string[]): string => `| ${cells.map((c) => cell(c)).join(' | ')} |`
  return [row(header), `|${header.map(() => '---').join('|')}|`, ...rows.map(row)]
}

/** A cell on one line whose pipes cannot split it (escaped even inside code spans). */
export function cell(markdown: string): string {
  return oneLine(markdown).replace(/(?<!\\)\|/g, '\\|')
}

/** At most `max` characters, cut at a word when one is near. */
export function clip(value: string, max: number): string {
  const flat = oneLine(value)
  if (flat.length <= max) return flat
  const cut = flat.slice(0, max - 1)
  const space = cut.lastIndexOf(' ')
  return `${space > max * 0.6 ? cut.slice(0, space) : cut}…`
}

function oneLine(value: string): string {
  return value.replace(/\s*[\r\n]+\s*/g, ' ').trim()
}
