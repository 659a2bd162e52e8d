// The contract's test vectors, parsed as the action parses them. driver/ parses the same files
// against the same manifest, so the two parts cannot drift.
import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { markerMode, parseMarkerBody } from '../../../src/contract/markers.ts'
import { parseProgress, parseReady, parseStopped } from '../../../src/contract/reports.ts'

interface Vector {
  readonly file: string
  readonly kind: 'marker' | 'ready' | 'progress' | 'stopped'
  readonly expect: Record<string, unknown>
}

const DIR = new URL('../../../src/contract/vectors/', import.meta.url)
const manifest = JSON.parse(readFileSync(new URL('manifest.json', DIR), 'utf8')) as {
  vectors: Vector[]
}
const text = (file: string): string => readFileSync(new URL(file, DIR), 'utf8')

/** The fields a manifest entry names, as this side reads them. */
function read(vector: Vector): Record<string, unknown> {
  const body = text(vector.file)
  switch (vector.kind) {
    case 'marker': {
      const parsed = parseMarkerBody(body)
      return { mode: markerMode(body), deploymentId: parsed?.deploymentId, stepId: parsed?.stepId }
    }
    case 'ready':
      return { ...parseReady(body) }
    case 'progress': {
      const p = parseProgress(body)
      return {
        ...p,
        sources: p?.sources.length,
        firstSources: p?.firstBatch?.sources.length ?? 0,
      }
    }
    case 'stopped': {
      const s = parseStopped(body)
      return { ...s, sources: s?.sources.length }
    }
  }
}

describe('contract test vectors', () => {
  it('lists every vector file of the folder', () => {
    const listed = manifest.vectors.map((v) => v.file).sort()
    const files = readdirSync(DIR)
      .filter((f) => f.endsWith('.json') && f !== 'manifest.json')
      .sort()
    expect(files).toEqual(listed)
  })

  it.each(manifest.vectors.map((v) => [v.file, v] as const))('%s', (_file, vector) => {
    const read_ = read(vector)
    for (const [field, expected] of Object.entries(vector.expect)) {
      expect({ field, value: read_[field] }).toEqual({ field, value: expected })
    }
  })

  it('treats a body that is not a version-1 object as no report, and a non-JSON marker as run', () => {
    expect(parseProgress('{"batchId":1}')).toBeUndefined()
    expect(parseStopped('not json')).toBeUndefined()
    expect(parseReady('[]')).toBeUndefined()
    expect(markerMode('application_1_2')).toBe('run')
    expect(markerMode('{"version":1,"deploymentId":"x","mode":"standby"}')).toBe('standby')
    expect(markerMode('{"version":2,"deploymentId":"x","mode":"standby"}')).toBe('run')
  })

  it('keeps offsets as Spark prints them (objects, numbers, null)', () => {
    const kafka = parseProgress(text('progress-structured-kafka.json'))
    expect(kafka?.firstBatch?.sources[0]?.startOffset).toEqual({ orders: { 0: 50210, 1: 49877 } })
    const rate = parseProgress(text('progress-structured-rate.json'))
    expect(rate?.sources[0]?.endOffset).toBe(50)
    const dstreams = parseProgress(text('progress-dstreams.json'))
    expect(dstreams?.sources[0]?.startOffset).toBeNull()
  })
})
