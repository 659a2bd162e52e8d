// The simulated driver's S3 and jar access: what a real driver does through Hadoop's
// FileSystem. A custom endpoint (moto) has no virtual-host DNS, hence path style.
import { readFileSync } from 'node:fs'
import AdmZip from 'adm-zip'
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import {
  JAR_CONFIG_ENTRY,
  SPARK_SUBMIT_FAILED_EXIT,
  parseS3Uri,
  type DriverConfig,
} from './contract.ts'

export const s3 = new S3Client({ forcePathStyle: true })

export interface S3Object {
  readonly bucket: string
  readonly key: string
}

export function die(message: string, code = 1): never {
  process.stderr.write(`Exception in thread "main" ${message}\n`)
  process.exit(code)
}

/** Only a definite "does not exist" means gone: any other error is not an answer. */
export function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } }
  return e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404
}

export async function getText(bucket: string, key: string): Promise<string | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
    return await out.Body?.transformToString()
  } catch (error) {
    if (isNotFound(error)) return undefined
    throw error
  }
}

export async function exists(object: S3Object): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: object.bucket, Key: object.key }))
    return true
  } catch (error) {
    if (isNotFound(error)) return false
    throw error
  }
}

export async function putJson(bucket: string, key: string, body: unknown): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: JSON.stringify(body),
      ContentType: 'application/json',
    }),
  )
}

/** The jar's rollover-driver.json; a missing jar fails as spark-submit does, before YARN. */
export async function loadJar(jarUri: string): Promise<DriverConfig> {
  let bytes: Buffer
  try {
    if (jarUri.startsWith('s3://') || jarUri.startsWith('s3a://')) {
      const { bucket, key } = parseS3Uri(jarUri)
      const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
      bytes = Buffer.from((await out.Body?.transformToByteArray()) ?? [])
    } else {
      bytes = readFileSync(jarUri.replace(/^file:\/\//, ''))
    }
  } catch (error) {
    if (isNotFound(error) || (error as { code?: string }).code === 'ENOENT') {
      // spark-submit fails before YARN has an application: no attempt to repeat.
      die(`java.io.FileNotFoundException: File ${jarUri} does not exist.`, SPARK_SUBMIT_FAILED_EXIT)
    }
    throw error
  }
  let entry: AdmZip.IZipEntry | null
  try {
    entry = new AdmZip(bytes).getEntry(JAR_CONFIG_ENTRY)
  } catch {
    die(`java.util.zip.ZipException: ${jarUri} is not a valid jar`, SPARK_SUBMIT_FAILED_EXIT)
  }
  if (!entry) return { version: 'unknown', behavior: 'ok' }
  return JSON.parse(entry.getData().toString('utf8')) as DriverConfig
}
