// `npm run summary:preview`: renders the sample job summaries the way GitHub shows them (GFM
// through micromark, GitHub's markdown CSS, Mermaid run in the page from the local package) and
// screenshots each with the system's headless Chromium. Offline: every request that is not a
// local file is refused. Fails when a Mermaid block does not parse. Not run in CI.
//
//   npm run summary:preview [-- name…]     .md, .html and .png per sample in $SUMMARY_PREVIEW_DIR
//                                          (default <tmpdir>/emr-rollover-summary-preview)
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { micromark } from 'micromark'
import { gfm, gfmHtml } from 'micromark-extension-gfm'
import { chromium } from 'playwright-core'
import { renderSummary } from '../../src/report/summary.ts'
import { SAMPLES } from './samples.ts'

/** Outside the work tree, so lint and format never see the bundled Mermaid copy. */
const OUT = process.env.SUMMARY_PREVIEW_DIR ?? join(tmpdir(), 'emr-rollover-summary-preview')
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
/** About the width GitHub gives a job summary on a laptop screen. */
const WIDTH = 1012

const require = createRequire(import.meta.url)

async function main(): Promise<void> {
  const started = Date.now()
  const wanted = process.argv.slice(2)
  const samples = SAMPLES.filter(([name]) => wanted.length === 0 || wanted.includes(name))
  await mkdir(OUT, { recursive: true })
  await copyFile(require.resolve('mermaid/dist/mermaid.min.js'), join(OUT, 'mermaid.min.js'))
  await copyFile(
    require.resolve('github-markdown-css/github-markdown-light.css'),
    join(OUT, 'github-markdown.css'),
  )

  const profile = await mkdtemp(join(tmpdir(), 'summary-preview-'))
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: WIDTH, height: 800 },
    deviceScaleFactor: 1,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
  const problems: string[] = []
  try {
    for (const [name, make] of samples) {
      const markdown = renderSummary(make())
      const htmlFile = join(OUT, `${name}.html`)
      await writeFile(join(OUT, `${name}.md`), markdown)
      await writeFile(htmlFile, page(name, markdown))
      const tab = await browser.newPage()
      await tab.route('**/*', (route) =>
        route.request().url().startsWith('file:') ? route.continue() : route.abort(),
      )
      await tab.goto(pathToFileURL(htmlFile).href)
      await tab.waitForFunction('window.__rendered === true', undefined, { timeout: 30_000 })
      const errors = (await tab.evaluate('window.__errors')) as string[]
      const overflow = (await tab.evaluate(
        'document.documentElement.scrollWidth - document.documentElement.clientWidth',
      )) as number
      for (const e of errors) problems.push(`${name}: mermaid: ${e}`)
      if (overflow > 0) problems.push(`${name}: the page scrolls sideways by ${overflow}px`)
      const png = join(OUT, `${name}.png`)
      await tab.screenshot({ path: png, fullPage: true })
      console.log(`${png}${errors.length > 0 ? ' (mermaid errors)' : ''}`)
      await tab.close()
    }
  } finally {
    await browser.close()
    await rm(profile, { recursive: true, force: true })
  }
  console.log(`${samples.length} summaries in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  if (problems.length > 0) {
    console.error(problems.join('\n'))
    process.exitCode = 1
  }
}

/** GitHub's rendering: GFM, raw HTML kept (GitHub sanitises it; the summary uses details only). */
function page(name: string, markdown: string): string {
  const body = micromark(markdown, {
    allowDangerousHtml: true,
    extensions: [gfm()],
    htmlExtensions: [gfmHtml()],
  })
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${name}</title>
<link rel="stylesheet" href="github-markdown.css">
<style>
  body { margin: 0; background: #f6f8fa; }
  .summary { box-sizing: border-box; max-width: ${WIDTH}px; margin: 0 auto; padding: 16px; }
  .markdown-body { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; padding: 24px 32px; }
</style>
<script src="mermaid.min.js"></script>
</head><body><div class="summary"><article class="markdown-body">
${body}
</article></div>
<script>
  window.__errors = [];
  (async () => {
    mermaid.initialize({ startOnLoad: false, theme: 'default', securityLevel: 'strict' });
    const blocks = [...document.querySelectorAll('pre > code.language-mermaid')];
    for (const code of blocks) {
      const source = code.textContent;
      try { await mermaid.parse(source); } catch (e) { window.__errors.push(String(e && e.message || e)); }
      const div = document.createElement('div');
      div.className = 'mermaid';
      div.textContent = source;
      code.parentElement.replaceWith(div);
    }
    try { await mermaid.run({ querySelector: '.mermaid' }); } catch (e) { window.__errors.push(String(e && e.message || e)); }
    for (const d of document.querySelectorAll('details')) d.open = true;
    window.__rendered = true;
  })();
</script>
</body></html>
`
}

await main()
