// Jars for the unit tests: real zips, with or without the driver library's class (the standby
// check reads the zip's central directory).
import AdmZip from 'adm-zip'
import { LIBRARY_CLASS } from '../../src/contract/jar-library.ts'

export function jarBytes(
  options: { library?: boolean; entries?: number; tag?: string } = {},
): Buffer {
  const zip = new AdmZip()
  zip.addFile('META-INF/MANIFEST.MF', Buffer.from(`Manifest-Version: 1.0\n${options.tag ?? ''}\n`))
  for (let i = 0; i < (options.entries ?? 1); i++) {
    zip.addFile(`com/acme/orders/Class${i}.class`, Buffer.from(`stub ${i}`))
  }
  if (options.library ?? true) zip.addFile(`io/github/${LIBRARY_CLASS}`, Buffer.from('stub'))
  return zip.toBuffer()
}
