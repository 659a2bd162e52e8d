import { beforeEach, describe, expect, it } from 'vitest'
import { AppLayout } from '../../../src/contract/layout.ts'
import { ACK_SUFFIX, type MarkerBody } from '../../../src/contract/markers.ts'
import { MarkerStore } from '../../../src/rollover/marker-store.ts'
import { PreconditionFailed } from '../../../src/aws/object-store.ts'
import { MemoryStore } from '../../support/memory-store.ts'

const PREFIX = { bucket: 'acme-rollover', key: 'streaming' }
const MARKERS = 's3://acme-rollover/streaming/clickstream/markers'
const ID = '20250102t030405z-a1b2c3'

function body(deploymentId: string, extra: Partial<MarkerBody> = {}): MarkerBody {
  return {
    version: 1,
    app: 'clickstream',
    deploymentId,
    clusterId: 'j-2AXXXXXXGAPLF',
    jar: 's3://acme-artifacts/clickstream.jar',
    createdAt: '2025-01-02T03:04:05.000Z',
    ...extra,
  }
}

let store: MemoryStore
let markers: MarkerStore

beforeEach(() => {
  store = new MemoryStore(() => Date.parse('2025-01-02T03:04:05Z'))
  markers = new MarkerStore(store, new AppLayout(PREFIX, 'clickstream'))
})

describe('MarkerStore.scan', () => {
  it('separates markers from .stopped acknowledgements', async () => {
    const other = '20250101t000000z-000001'
    store.seed(`${MARKERS}/${ID}`, JSON.stringify(body(ID, { stepId: 's-1' })))
    store.seed(`${MARKERS}/${other}`, JSON.stringify(body(other)))
    store.seed(
      `${MARKERS}/${other}${ACK_SUFFIX}`,
      JSON.stringify({ finalBatchTime: 1735787045000, offsets: { clicks: { 0: 42 } } }),
    )
    store.seed('s3://acme-rollover/streaming/clickstream/lock', '{}')
    store.seed('s3://acme-rollover/streaming/clickstream-2/markers/x', '{}')

    const scan = await markers.scan()

    expect(scan.markers.map((m) => m.uri).sort()).toEqual(
      [`${MARKERS}/${ID}`, `${MARKERS}/${other}`].sort(),
    )
    const mine = scan.markers.find((m) => m.uri.endsWith(ID))
    expect(mine?.body).toEqual(body(ID, { stepId: 's-1' }))
    expect(mine?.etag).toMatch(/^".+"$/)
    expect(mine?.location).toEqual({
      bucket: 'acme-rollover',
      key: `streaming/clickstream/markers/${ID}`,
    })
    expect(scan.acks).toEqual([
      {
        markerUri: `${MARKERS}/${other}`,
        location: {
          bucket: 'acme-rollover',
          key: `streaming/clickstream/markers/${other}${ACK_SUFFIX}`,
        },
        body: { finalBatchTime: 1735787045000, offsets: { clicks: { 0: 42 } } },
      },
    ])
    expect(store.mutations).toEqual([])
  })

  it('keeps a foreign (non-JSON) marker, with its raw text and no body', async () => {
    const key = `${MARKERS}/application_1700000000000_0042`
    store.seed(key, 'started by the driver itself')
    const scan = await markers.scan()
    expect(scan.markers).toHaveLength(1)
    expect(scan.markers[0]?.uri).toBe(key)
    expect(scan.markers[0]?.body).toBeUndefined()
    expect(scan.markers[0]?.text).toBe('started by the driver itself')
    expect(scan.acks).toEqual([])
  })

  it('keeps the raw text of an acknowledgement that is not JSON', async () => {
    store.seed(`${MARKERS}/${ID}${ACK_SUFFIX}`, 'bye')
    const scan = await markers.scan()
    expect(scan.markers).toEqual([])
    expect(scan.acks[0]?.body).toEqual({ raw: 'bye' })
  })

  it('skips a marker deleted between the listing and the read', async () => {
    store.seed(`${MARKERS}/${ID}`, JSON.stringify(body(ID)))
    store.beforeCall = (call) => {
      if (call.op === 'getText') store.objects.delete(call.uri)
    }
    expect((await markers.scan()).markers).toEqual([])
  })

  it('is empty for a first deploy', async () => {
    expect(await markers.scan()).toEqual({ markers: [], acks: [], progress: new Map() })
  })
})

describe('MarkerStore.create', () => {
  it('writes the marker with its body and returns it', async () => {
    const marker = await markers.create(ID, body(ID))
    expect(marker.uri).toBe(`${MARKERS}/${ID}`)
    expect(marker.body).toEqual(body(ID))
    expect(store.json(`${MARKERS}/${ID}`)).toEqual(body(ID))
    expect(marker.etag).toBe((await store.head(marker.location))?.etag)
  })

  it('is create-only: never overwrites an existing marker', async () => {
    store.seed(`${MARKERS}/${ID}`, 'someone else')
    await expect(markers.create(ID, body(ID))).rejects.toBeInstanceOf(PreconditionFailed)
    expect(store.text(`${MARKERS}/${ID}`)).toBe('someone else')
  })
})

describe('MarkerStore.attachStep', () => {
  it('records the step id with IfMatch on the marker it wrote', async () => {
    const marker = await markers.create(ID, body(ID))
    const attached = await markers.attachStep(marker, 's-NEWSTEP0001')
    expect(attached.body).toEqual(body(ID, { stepId: 's-NEWSTEP0001' }))
    expect(store.json(`${MARKERS}/${ID}`)).toEqual(body(ID, { stepId: 's-NEWSTEP0001' }))
    expect(attached.etag).not.toBe(marker.etag)
    expect(attached.etag).toBe((await store.head(marker.location))?.etag)
  })

  it('fails with PreconditionFailed when the marker changed meanwhile', async () => {
    const marker = await markers.create(ID, body(ID))
    await store.putText(marker.location, 'changed by someone else')
    await expect(markers.attachStep(marker, 's-1')).rejects.toBeInstanceOf(PreconditionFailed)
    expect(store.text(`${MARKERS}/${ID}`)).toBe('changed by someone else')
  })

  it('fails with PreconditionFailed when the marker was deleted meanwhile (a stop began)', async () => {
    const marker = await markers.create(ID, body(ID))
    await store.delete(marker.location)
    await expect(markers.attachStep(marker, 's-1')).rejects.toBeInstanceOf(PreconditionFailed)
    expect(store.text(`${MARKERS}/${ID}`)).toBeUndefined()
  })
})

describe('MarkerStore.remove / restore', () => {
  it('puts deleted markers back exactly as they were', async () => {
    const foreign = `${MARKERS}/application_1700000000000_0042`
    store.seed(`${MARKERS}/${ID}`, JSON.stringify(body(ID, { stepId: 's-1' }), null, 2))
    store.seed(foreign, 'raw text')
    const { markers: found } = await markers.scan()
    await markers.remove(found)
    expect(store.keysUnder(`${MARKERS}/`)).toEqual([])

    const restored = await markers.restore(found)

    expect(store.text(`${MARKERS}/${ID}`)).toBe(
      JSON.stringify(body(ID, { stepId: 's-1' }), null, 2),
    )
    expect(store.text(foreign)).toBe('raw text')
    for (const m of restored) expect(m.etag).toBe((await store.head(m.location))?.etag)
  })

  it('is create-only: never clobbers a marker written since', async () => {
    store.seed(`${MARKERS}/${ID}`, JSON.stringify(body(ID)))
    const { markers: found } = await markers.scan()
    await markers.remove(found)
    store.seed(`${MARKERS}/${ID}`, 'newer')
    await expect(markers.restore(found)).rejects.toBeInstanceOf(PreconditionFailed)
    expect(store.text(`${MARKERS}/${ID}`)).toBe('newer')
  })

  it('writes restores with a create-only condition (no blind put)', async () => {
    store.seed(`${MARKERS}/${ID}`, JSON.stringify(body(ID)))
    const { markers: found } = await markers.scan()
    await markers.remove(found)
    const conditions: unknown[] = []
    const original = store.putText.bind(store)
    store.putText = async (location, text, condition) => {
      conditions.push(condition)
      return original(location, text, condition)
    }
    await markers.restore(found)
    expect(conditions).toEqual([{ ifNoneMatch: true }])
  })
})

describe('MarkerStore acknowledgements', () => {
  it('reads the ack of a marker and removes acks', async () => {
    const location = { bucket: 'acme-rollover', key: `streaming/clickstream/markers/${ID}` }
    expect(await markers.readAck(location)).toBeUndefined()
    store.seed(`${MARKERS}/${ID}${ACK_SUFFIX}`, '{"finalBatchTime":1}')
    const ack = await markers.readAck(location)
    expect(ack).toEqual({
      markerUri: `${MARKERS}/${ID}`,
      location: { ...location, key: `${location.key}${ACK_SUFFIX}` },
      body: { finalBatchTime: 1 },
    })
    await markers.removeAcks(ack ? [ack] : [])
    expect(store.text(`${MARKERS}/${ID}${ACK_SUFFIX}`)).toBeUndefined()
  })
})
