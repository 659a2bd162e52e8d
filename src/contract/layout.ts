// Where everything of one app lives in S3, under the marker prefix (DESIGN.md, "The contract").
import { child, type S3Location } from '../aws/s3-location.ts'

/** Where everything of one app lives under the marker prefix. */
export class AppLayout {
  readonly app: S3Location
  readonly markers: S3Location
  readonly lock: S3Location
  readonly current: S3Location
  /** The action's ledger of drivers it launched and not yet confirmed gone. */
  readonly drivers: S3Location

  constructor(markerPrefix: S3Location, appName: string) {
    this.app = child(markerPrefix, appName)
    this.markers = child(this.app, 'markers')
    this.lock = child(this.app, 'lock')
    this.current = child(this.app, 'current.json')
    this.drivers = child(this.app, 'drivers.json')
  }

  marker(deploymentId: string): S3Location {
    return child(this.markers, deploymentId)
  }

  deploymentRecord(deploymentId: string): S3Location {
    return child(this.app, 'deployments', `${deploymentId}.json`)
  }
}
