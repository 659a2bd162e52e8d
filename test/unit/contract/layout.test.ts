import { describe, expect, it } from 'vitest'
import { AppLayout } from '../../../src/contract/layout.ts'
import { ACK_SUFFIX, ackLocation } from '../../../src/contract/markers.ts'

const PREFIX = { bucket: 'acme-rollover', key: 'streaming' }
const ID = '20250102t030405z-a1b2c3'

describe('AppLayout', () => {
  it('keeps everything of the app under <prefix>/<app>/', () => {
    const layout = new AppLayout(PREFIX, 'clickstream')
    expect(layout.markers).toEqual({
      bucket: 'acme-rollover',
      key: 'streaming/clickstream/markers',
    })
    expect(layout.lock).toEqual({ bucket: 'acme-rollover', key: 'streaming/clickstream/lock' })
    expect(layout.current.key).toBe('streaming/clickstream/current.json')
    expect(layout.marker(ID).key).toBe(`streaming/clickstream/markers/${ID}`)
    expect(layout.deploymentRecord(ID).key).toBe(`streaming/clickstream/deployments/${ID}.json`)
  })

  it('works with a bucket-root prefix', () => {
    const layout = new AppLayout({ bucket: 'b', key: '' }, 'app')
    expect(layout.marker(ID)).toEqual({ bucket: 'b', key: `app/markers/${ID}` })
  })

  it('puts the acknowledgement next to the marker', () => {
    expect(ackLocation({ bucket: 'b', key: `m/${ID}` })).toEqual({
      bucket: 'b',
      key: `m/${ID}${ACK_SUFFIX}`,
    })
  })
})
