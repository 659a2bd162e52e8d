// Test jars: real zip files (the action checks that a local jar is a zip) whose
// rollover-driver.json tells the driver stand-in which version it is and how to misbehave.
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import AdmZip from 'adm-zip'
import { JAR_CONFIG_ENTRY, type DriverConfig } from './contract.ts'

let jarSeq = 0

export async function writeJar(dir: string, config: DriverConfig): Promise<string> {
  await mkdir(dir, { recursive: true })
  jarSeq += 1
  const zip = new AdmZip()
  zip.addFile(
    'META-INF/MANIFEST.MF',
    Buffer.from(`Manifest-Version: 1.0\nImplementation-Version: ${config.version}\n`),
  )
  zip.addFile(JAR_CONFIG_ENTRY, Buffer.from(JSON.stringify(config, null, 2)))
  // Distinct bytes per version and behaviour, so content-addressed staging tells them apart.
  zip.addFile('com/example/StreamingApp.class', Buffer.from(`stub ${config.version}`))
  // The simulated driver honours the contract as the driver library does; the standby check
  // looks for the library's class in the jar.
  zip.addFile('io/github/emrrollover/driver/Rollover.class', Buffer.from('stub'))
  const safe = `${config.version}-${config.behavior}`.replace(/[^A-Za-z0-9._-]/g, '_')
  const path = join(dir, `streaming-app-${safe}-${jarSeq}.jar`)
  await writeFile(path, zip.toBuffer())
  return path
}
