// Keeps examples/iam-policy.json least-privilege and complete: every AWS SDK command the action's
// source sends must be allowed by a required statement, and no statement may allow more than
// those (plus the optional KMS statement). A new command in the source fails this test until
// COMMAND_ACTIONS below (and the policy, and the README's IAM section) say what it needs.
import { readFileSync, readdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { STEP_LOGS_STATEMENT_SID } from '../../src/rollover/diagnose.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))

/** SDK command (without the `Command` suffix) -> the IAM action it is authorised by. */
const COMMAND_ACTIONS: Readonly<Record<string, string>> = {
  // EMR
  DescribeCluster: 'elasticmapreduce:DescribeCluster',
  ListClusters: 'elasticmapreduce:ListClusters',
  ListSteps: 'elasticmapreduce:ListSteps',
  DescribeStep: 'elasticmapreduce:DescribeStep',
  AddJobFlowSteps: 'elasticmapreduce:AddJobFlowSteps',
  CancelSteps: 'elasticmapreduce:CancelSteps',
  // S3
  HeadObject: 's3:GetObject',
  GetObject: 's3:GetObject',
  ListObjectsV2: 's3:ListBucket',
  PutObject: 's3:PutObject',
  DeleteObject: 's3:DeleteObject',
  CreateMultipartUpload: 's3:PutObject',
  UploadPart: 's3:PutObject',
  CompleteMultipartUpload: 's3:PutObject',
  AbortMultipartUpload: 's3:AbortMultipartUpload',
}

/** What `new Upload(...)` from @aws-sdk/lib-storage sends (leavePartsOnError: false). */
const UPLOAD_COMMANDS = [
  'PutObject',
  'CreateMultipartUpload',
  'UploadPart',
  'CompleteMultipartUpload',
  'AbortMultipartUpload',
]
/** lib-storage sends this only when `tags` are passed to Upload. */
const UPLOAD_TAGS_COMMAND = 'PutObjectTagging'

/** Actions an `Optional*` statement may grant on top of the required ones. */
const OPTIONAL_EXTRA_ACTIONS = new Set(['kms:GenerateDataKey', 'kms:Decrypt'])

/** The only action that cannot be scoped to a resource. */
const UNSCOPED_ACTIONS = new Set(['elasticmapreduce:ListClusters'])

interface Statement {
  readonly Sid: string
  readonly Effect: string
  readonly Action: string | string[]
  readonly Resource: string | string[]
  readonly Condition?: Record<string, Record<string, unknown>>
}

const policy = JSON.parse(readFileSync(join(root, 'examples/iam-policy.json'), 'utf8')) as {
  Version: string
  Statement: Statement[]
}

const list = (value: string | string[]): string[] => (Array.isArray(value) ? value : [value])
const isOptional = (s: Statement): boolean => s.Sid.startsWith('Optional')

/** Every SDK command a piece of source sends: `new XxxCommand(`, `paginateXxx(`, `new Upload(`. */
function sdkCommands(source: string): Set<string> {
  const found = new Set<string>()
  for (const m of source.matchAll(/\bnew\s+(\w+)Command\s*\(/g)) found.add(m[1] as string)
  for (const m of source.matchAll(/\bpaginate(\w+)\s*\(/g)) found.add(m[1] as string)
  if (/\bnew\s+Upload\s*\(/.test(source)) {
    for (const c of UPLOAD_COMMANDS) found.add(c)
    if (/\btags\s*:/.test(source)) found.add(UPLOAD_TAGS_COMMAND)
  }
  return found
}

/** The IAM actions those commands need; throws on a command the table does not know. */
function requiredActions(commands: Iterable<string>): Set<string> {
  const actions = new Set<string>()
  const unknown: string[] = []
  for (const command of commands) {
    const action = COMMAND_ACTIONS[command]
    if (action === undefined) unknown.push(command)
    else actions.add(action)
  }
  if (unknown.length > 0) {
    throw new Error(
      `SDK command(s) ${unknown.map((c) => `${c}Command`).join(', ')} not in COMMAND_ACTIONS: ` +
        `extend the table in test/unit/iam-policy.test.ts with the IAM action each needs, ` +
        `then update examples/iam-policy.json and the README's IAM section`,
    )
  }
  return actions
}

/** The action's own source files that talk to AWS (src/aws/emr.ts and src/aws/s3.ts today). */
function awsSourceFiles(): Map<string, string> {
  const files = new Map<string, string>()
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (entry.name.endsWith('.ts')) {
        const text = readFileSync(path, 'utf8')
        if (/from\s+'@aws-sdk\//.test(text)) files.set(path.slice(root.length), text)
      }
    }
  }
  walk(join(root, 'src'))
  return files
}

describe('the command table', () => {
  it('fails on a command it does not know, saying how to fix it', () => {
    const source = `await client.send(new ModifyClusterCommand({ ClusterId: id }))`
    expect(() => requiredActions(sdkCommands(source))).toThrow(
      /ModifyClusterCommand not in COMMAND_ACTIONS: extend the table/,
    )
  })

  it('expands lib-storage Upload into the multipart commands', () => {
    const actions = requiredActions(sdkCommands(`const u = new Upload({ client, params })`))
    expect([...actions].sort()).toEqual(['s3:AbortMultipartUpload', 's3:PutObject'])
  })

  it('knows every command @aws-sdk/lib-storage can send', () => {
    const require = createRequire(import.meta.url)
    const dist = join(dirname(require.resolve('@aws-sdk/lib-storage')))
    const sent = new Set<string>()
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name)
        if (entry.isDirectory()) walk(path)
        else if (entry.name.endsWith('.js')) {
          for (const c of sdkCommands(readFileSync(path, 'utf8'))) sent.add(c)
        }
      }
    }
    walk(dist)
    expect(sent.size).toBeGreaterThan(0)
    const known = new Set([...UPLOAD_COMMANDS, UPLOAD_TAGS_COMMAND])
    expect([...sent].filter((c) => !known.has(c))).toEqual([])
  })
})

describe('examples/iam-policy.json', () => {
  const files = awsSourceFiles()
  const commands = new Set([...files.values()].flatMap((text) => [...sdkCommands(text)]))
  const needed = requiredActions(commands)
  const required = policy.Statement.filter((s) => !isOptional(s))
  const optional = policy.Statement.filter(isOptional)

  it('is read from the files that call AWS', () => {
    expect([...files.keys()]).toEqual(expect.arrayContaining(['src/aws/emr.ts', 'src/aws/s3.ts']))
    expect(commands).toContain('AddJobFlowSteps')
    expect(commands).toContain('PutObject')
  })

  it('is a well-formed policy with one distinct Sid per statement', () => {
    expect(policy.Version).toBe('2012-10-17')
    const sids = policy.Statement.map((s) => s.Sid)
    expect(new Set(sids).size).toBe(sids.length)
    for (const s of policy.Statement) {
      expect(s.Sid).toMatch(/^[A-Za-z0-9]+$/)
      expect(s.Effect).toBe('Allow')
      for (const action of list(s.Action)) expect(action).not.toMatch(/\*/)
    }
  })

  it('grants every action the source needs without an optional statement', () => {
    const granted = new Set(required.flatMap((s) => list(s.Action)))
    expect([...needed].filter((a) => !granted.has(a))).toEqual([])
  })

  it('grants nothing beyond what the source needs', () => {
    const extra = required.flatMap((s) => list(s.Action)).filter((a) => !needed.has(a))
    expect(extra).toEqual([])
    const optionalExtra = optional
      .flatMap((s) => list(s.Action))
      .filter((a) => !needed.has(a) && !OPTIONAL_EXTRA_ACTIONS.has(a))
    expect(optionalExtra).toEqual([])
  })

  it('scopes every action to a resource, except ListClusters', () => {
    for (const s of policy.Statement) {
      if (list(s.Resource).includes('*')) {
        expect(
          list(s.Action).every((a) => UNSCOPED_ACTIONS.has(a)),
          s.Sid,
        ).toBe(true)
      }
    }
  })

  it('scopes EMR to the cluster, S3 objects to the prefix, listing to the prefix', () => {
    for (const s of required) {
      for (const action of list(s.Action)) {
        if (UNSCOPED_ACTIONS.has(action)) continue
        const resources = list(s.Resource)
        if (action.startsWith('elasticmapreduce:')) {
          expect(resources, s.Sid).toEqual([
            'arn:aws:elasticmapreduce:REGION:ACCOUNT_ID:cluster/CLUSTER_ID',
          ])
        } else if (action === 's3:ListBucket') {
          expect(resources, s.Sid).toEqual(['arn:aws:s3:::BUCKET'])
          expect(s.Condition?.StringLike?.['s3:prefix'], s.Sid).toEqual(['PREFIX/*'])
        } else if (action.startsWith('s3:')) {
          for (const r of resources) expect(r, s.Sid).toMatch(/^arn:aws:s3:::BUCKET\/PREFIX\/.*\*$/)
        }
      }
    }
  })

  it('allows AddJobFlowSteps without a runtime role only when none is passed', () => {
    const adds = required.filter((s) => list(s.Action).includes('elasticmapreduce:AddJobFlowSteps'))
    expect(adds.length).toBeGreaterThan(0)
    for (const s of adds) {
      expect(s.Condition?.Null?.['elasticmapreduce:ExecutionRoleArn'], s.Sid).toBe('true')
    }
    const withRole = optional.find((s) =>
      list(s.Action).includes('elasticmapreduce:AddJobFlowSteps'),
    )
    expect(withRole?.Condition?.StringEquals?.['elasticmapreduce:ExecutionRoleArn']).toMatch(
      /^arn:aws:iam::ACCOUNT_ID:role\//,
    )
  })

  it('limits the KMS key to use through S3', () => {
    const kms = optional.filter((s) => list(s.Action).some((a) => a.startsWith('kms:')))
    expect(kms).toHaveLength(1)
    expect(kms[0]?.Condition?.StringEquals?.['kms:ViaService']).toBe('s3.REGION.amazonaws.com')
  })

  it('has the optional statement that the diagnosis of a failed step names, for logs only', () => {
    const logs = optional.find((s) => s.Sid === STEP_LOGS_STATEMENT_SID)
    expect(logs?.Action).toEqual(['s3:GetObject'])
    expect(list(logs?.Resource ?? [])).toEqual(['arn:aws:s3:::LOG_BUCKET/LOG_PREFIX/*'])
  })
})
