// The layout of src/ (DESIGN.md "Layout") as rules that fail when broken: no grab-bag types
// module, no import circles, the rollover logic and the contract see AWS only through the ports,
// and the post step bundles no EMR code.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = resolve(import.meta.dirname, '../..')
const SRC = join(ROOT, 'src')

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return sourceFiles(path)
    return name.endsWith('.ts') ? [path] : []
  })
}

/** Every import of a file: relative ones resolved to files, packages by name. */
function importsOf(file: string): { files: string[]; packages: string[]; typeOnly: string[] } {
  const text = readFileSync(file, 'utf8')
  const files: string[] = []
  const packages: string[] = []
  const typeOnly: string[] = []
  const pattern = /^\s*(import|export)\s+(type\s+)?(?:[^'"]*?\sfrom\s+)?['"]([^'"]+)['"]/gm
  for (const match of text.matchAll(pattern)) {
    const [, , type, spec] = match as unknown as [string, string, string | undefined, string]
    if (spec.startsWith('.')) {
      const target = resolve(dirname(file), spec)
      ;(type ? typeOnly : files).push(target)
    } else packages.push(spec)
  }
  return { files, packages, typeOnly }
}

const FILES = sourceFiles(SRC)
const rel = (file: string): string => relative(ROOT, file)

describe('src layout', () => {
  it('has no types.ts: each type lives with its owner', () => {
    expect(FILES.map(rel).filter((f) => /(^|\/)types\.ts$/.test(f))).toEqual([])
  })

  it('has folders for the architecture, and only the wiring at the top', () => {
    const top = FILES.filter((f) => dirname(f) === SRC).map((f) => rel(f))
    expect(top.sort()).toEqual(
      ['clock.ts', 'errors.ts', 'index.ts', 'log.ts', 'main.ts', 'post.ts', 'state.ts'].map(
        (f) => `src/${f}`,
      ),
    )
    for (const folder of ['aws', 'contract', 'report', 'rollover', 'settings']) {
      expect(FILES.some((f) => rel(f).startsWith(`src/${folder}/`))).toBe(true)
    }
  })

  it('has no import circles (type-only imports included)', () => {
    const graph = new Map(
      FILES.map((f) => {
        const i = importsOf(f)
        return [f, [...i.files, ...i.typeOnly]]
      }),
    )
    const cycles: string[] = []
    const state = new Map<string, 'visiting' | 'done'>()
    const path: string[] = []
    const visit = (file: string): void => {
      if (state.get(file) === 'done') return
      if (state.get(file) === 'visiting') {
        cycles.push([...path.slice(path.indexOf(file)), file].map(rel).join(' -> '))
        return
      }
      state.set(file, 'visiting')
      path.push(file)
      for (const next of graph.get(file) ?? []) visit(next)
      path.pop()
      state.set(file, 'done')
    }
    for (const file of FILES) visit(file)
    expect(cycles).toEqual([])
  })

  it('rollover/ and contract/ reach AWS only through the ports', () => {
    const adapters = ['src/aws/emr.ts', 'src/aws/s3.ts', 'src/aws/endpoints.ts']
    const offenders = FILES.filter((f) => /src\/(rollover|contract)\//.test(rel(f))).flatMap(
      (f) => {
        const i = importsOf(f)
        const bad = [
          ...i.packages.filter((p) => p.startsWith('@aws-sdk/') || p.startsWith('@actions/')),
          ...[...i.files, ...i.typeOnly].map(rel).filter((t) => adapters.includes(t)),
        ]
        return bad.map((b) => `${rel(f)} imports ${b}`)
      },
    )
    expect(offenders).toEqual([])
  })

  it('the post step imports no EMR code', () => {
    const seen = new Set<string>()
    const packages = new Set<string>()
    const walk = (file: string): void => {
      if (seen.has(file)) return
      seen.add(file)
      const i = importsOf(file)
      for (const p of i.packages) packages.add(p)
      for (const next of i.files) walk(next)
    }
    walk(join(SRC, 'post.ts'))
    expect([...packages].filter((p) => p.includes('client-emr'))).toEqual([])
    expect([...seen].map(rel).filter((f) => f.includes('emr'))).toEqual([])
    expect([...seen].map(rel).filter((f) => f.startsWith('src/rollover/'))).toEqual([
      'src/rollover/lock-body.ts',
    ])
  })
})
