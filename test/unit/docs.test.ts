// Keeps action.yml, the input parser and the README telling the same story.
import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parseSettings } from '../../src/settings/inputs.ts'

const actionYml = readFileSync(new URL('../../action.yml', import.meta.url), 'utf8')
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')

/** name -> default ('' when none) for the top-level `inputs:` or `outputs:` block. */
function block(name: 'inputs' | 'outputs'): Map<string, string> {
  const start = actionYml.indexOf(`\n${name}:\n`)
  const rest = actionYml.slice(start + name.length + 3)
  const end = rest.search(/\n\S/)
  const entries = new Map<string, string>()
  let current: string | undefined
  for (const line of rest.slice(0, end === -1 ? undefined : end).split('\n')) {
    const key = /^ {2}([a-z][a-z0-9-]*):\s*$/.exec(line)
    if (key) {
      current = key[1] as string
      entries.set(current, '')
      continue
    }
    const def = /^ {4}default:\s*(.*)$/.exec(line)
    if (def && current) entries.set(current, (def[1] as string).replace(/^'(.*)'$/, '$1'))
  }
  return entries
}

const minimal: Record<string, string> = {
  'app-name': 'clickstream',
  'cluster-id': 'j-1ABCDEFGHIJKL',
  jar: 's3://acme-artifacts/clickstream/app.jar',
  'main-class': 'com.acme.Main',
  'marker-prefix': 's3://acme-streaming/rollover',
}

describe('action.yml, inputs.ts and README agree', () => {
  const inputs = block('inputs')
  const outputs = block('outputs')

  it('declares the inputs and outputs of the design', () => {
    expect(inputs.size).toBe(26)
    expect([...outputs.keys()].sort()).toEqual(
      [
        'result',
        'deployment-id',
        'cluster-id',
        'step-id',
        'previous-step-id',
        'previous-step-state',
        'marker-uri',
        'jar-uri',
        'stop-seconds',
        'downtime-seconds',
        'handoff',
        'verified-by',
      ].sort(),
    )
  })

  it('reads exactly the inputs action.yml declares', () => {
    const read = new Set<string>()
    parseSettings((name) => {
      read.add(name)
      return minimal[name] ?? ''
    })
    expect([...read].sort()).toEqual([...inputs.keys()].sort())
  })

  it('applies the same defaults as action.yml', () => {
    const withDefaults = parseSettings((name) => {
      const value = minimal[name] ?? inputs.get(name) ?? ''
      return value.startsWith('${{') ? '' : value
    })
    const withEmpty = parseSettings((name) => minimal[name] ?? '')
    expect(withDefaults).toEqual(withEmpty)
  })

  it.each([...block('inputs').keys()])('README documents input %s', (name) => {
    expect(readme).toMatch(new RegExp(`^\\|\\s*\`${name}\`\\s*\\|`, 'm'))
  })

  it.each([...block('outputs').keys()])('README documents output %s', (name) => {
    expect(readme).toMatch(new RegExp(`^\\|\\s*\`${name}\`\\s*\\|`, 'm'))
  })
})

/** The `with:` keys of every step that uses this action in an example workflow. */
function exampleInputs(workflow: string): string[][] {
  const lines = workflow.split('\n')
  const uses: string[][] = []
  lines.forEach((line, i) => {
    const step = /^(\s*)(?:- )?uses: your-org\/emr-streaming-rollover@/.exec(line)
    if (!step) return
    const withLine = lines.findIndex((l, j) => j > i && /^\s+with:\s*$/.test(l))
    if (withLine === -1) return
    const indent = (/^(\s*)/.exec(lines[withLine] as string)?.[1] ?? '').length + 2
    const keys: string[] = []
    for (const l of lines.slice(withLine + 1)) {
      if (l.trim() === '' || l.trim().startsWith('#')) continue
      const lead = (/^(\s*)/.exec(l)?.[1] ?? '').length
      if (lead < indent) break
      const key = new RegExp(`^ {${indent}}([a-z][a-z0-9-]*):`).exec(l)
      if (key) keys.push(key[1] as string)
    }
    uses.push(keys)
  })
  return uses
}

describe('examples/workflows', () => {
  const dir = new URL('../../examples/workflows/', import.meta.url)
  const files = readdirSync(dir).filter((f) => f.endsWith('.yml'))
  const inputs = block('inputs')

  it('the README names every example workflow', () => {
    for (const file of files) expect(readme).toContain(file.replace(/\.yml$/, ''))
  })

  it.each(files)('%s gives the action only inputs it declares, and the required ones', (file) => {
    const steps = exampleInputs(readFileSync(new URL(file, dir), 'utf8'))
    expect(steps.length).toBeGreaterThan(0)
    for (const keys of steps) {
      expect(keys.filter((k) => !inputs.has(k))).toEqual([])
      for (const required of ['app-name', 'jar', 'main-class', 'marker-prefix']) {
        expect(keys).toContain(required)
      }
    }
  })
})
