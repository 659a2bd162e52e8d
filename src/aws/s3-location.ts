// An S3 object or prefix as a value: the one shape every module passes around.

/** An S3 object or prefix. `key` never starts with '/'; a prefix never ends with '/'. */
export interface S3Location {
  readonly bucket: string
  readonly key: string
}

export function s3Uri(location: S3Location): string {
  return `s3://${location.bucket}/${location.key}`
}

/** `prefix/part/part…`, skipping empty parts (an empty prefix key is the bucket's root). */
export function child(prefix: S3Location, ...parts: string[]): S3Location {
  const key = [prefix.key, ...parts].filter((p) => p !== '').join('/')
  return { bucket: prefix.bucket, key }
}

/** `s3://bucket/key` or `s3a://bucket/key`; undefined for anything else. */
export function parseS3Location(uri: string): S3Location | undefined {
  const match = /^s3a?:\/\/([^/]+)\/(.+)$/.exec(uri)
  return match ? { bucket: match[1] as string, key: match[2] as string } : undefined
}
