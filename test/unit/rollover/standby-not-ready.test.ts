// A standby that fails before it is ready (test/e2e/standby.e2e.test.ts found it on the local
// stack): the run must say what happened to it, everywhere it is reported. It was recorded with
// no outcome, so the summary, the record and the verdict called it "not verified (may be
// running)" although it had been retired; the Details said "nothing was running" beside a driver
// that runs untouched; and the error ended with "Nothing was stopped or submitted." after a
// standby step had been submitted.
import { afterEach, describe, expect, it } from 'vitest'
import { actedOnTheApp } from '../../../src/rollover/report.ts'
import { renderSummary } from '../../../src/report/summary.ts'
import {
  disposeWorlds,
  makeWorld,
  recordUri,
  rollover,
  seedDeployment,
} from '../../support/rollover-harness.ts'

afterEach(disposeWorlds)

describe('strategy standby: a standby that is never ready', () => {
  it('is recorded as failed to start, and the old driver is named as untouched', async () => {
    const w = makeWorld({ cluster: { stepConcurrencyLevel: 2 } })
    const old = seedDeployment(w, 'd-001', {}, { ledger: true, current: true })
    w.emr.queue({ behaviour: 'crash-on-start' })

    const out = await rollover(w, { settings: { strategy: 'standby' } })

    expect(out.error?.message).toContain('Nothing changed')
    const launch = out.report.launch
    expect(launch?.stepId).toMatch(/^s-/)
    expect(launch?.outcome).toBe('failed-to-start')
    expect(launch?.failure).toMatch(/ended FAILED before it was ready/)
    const record = JSON.parse(w.store.text(recordUri('d-002')) ?? '{}') as {
      launch?: { outcome?: string }
    }
    expect(record.launch?.outcome).toBe('failed-to-start')

    const summary = renderSummary(out.report)
    expect(summary).toContain(`New driver \`${launch?.stepId}\` did not start`)
    expect(summary).toContain(`| New step | \`${launch?.stepId}\` — did not start |`)
    expect(summary).not.toMatch(/not verified/)
    expect(summary).toContain(
      `| Stopped | nothing: \`${old.step.id}\` still RUNNING (not touched) |`,
    )
    // A standby was submitted (and retired): main must not add "Nothing was stopped or submitted."
    expect(actedOnTheApp(out.report)).toBe(true)
  })

  it('a run refused before its first change did not act on the app', async () => {
    const w = makeWorld({ cluster: { stepConcurrencyLevel: 1 } })
    seedDeployment(w, 'd-001', {}, { ledger: true, current: true })

    const out = await rollover(w, { settings: { strategy: 'standby' } })

    expect(out.error?.message).toContain('runs one step at a time')
    expect(actedOnTheApp(out.report)).toBe(false)
  })
})
