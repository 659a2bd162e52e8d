// The forced stop: an EMR step that kills, through YARN, every application carrying one of the
// given tags, then checks that none is left. Pure: the script is a constant, the tags its
// arguments.
import type { StepSpec } from '../aws/emr-port.ts'

/**
 * Kills every live YARN application carrying one of the tags given as arguments ($1...), then
 * checks that none is left. Runs as an EMR step on the primary node (`bash -c SCRIPT
 * rollover-kill <tag> [<tag>...]`); no input is ever spliced into the script text, and a tag
 * with anything but letters, digits, '.', '_' or '-' is refused (it would change the query).
 *
 * * The ResourceManager's REST API filters by tag (the CLI's -appTags is not in every Hadoop) and
 *   answers JSON; application ids are taken from the `id` members of that JSON only, never from
 *   text that merely looks like an id (application names and diagnostics mention other apps).
 * * The RM is `$ROLLOVER_RM_URL` when set (the test stack sets it), else the primary node's
 *   `http://$(hostname -f):8088`. A standby RM's redirect to the active one is followed.
 * * A query that fails (RM unreachable, 401 for Kerberos, an answer that is not the RM's JSON)
 *   fails the step: an unanswered query must never read as "no application left", or a live
 *   driver would be taken for a dead one and a second driver submitted beside it.
 * * The check after the kill is repeated `$ROLLOVER_KILL_CONFIRM_TRIES` times (12), every
 *   `$ROLLOVER_KILL_CONFIRM_INTERVAL` seconds (5).
 */
export const YARN_KILL_SCRIPT = [
  'set -eu',
  'export LC_ALL=C',
  '[ "$#" -ge 1 ] || { echo "usage: rollover-kill <tag> [<tag>...]" >&2; exit 2; }',
  'tags=""',
  'for t in "$@"; do',
  '  case "$t" in',
  `    ''|*[!A-Za-z0-9._-]*) echo "refusing tag '$t': use letters, digits, '.', '_' or '-'" >&2; exit 2 ;;`,
  '  esac',
  '  tags="${tags:+$tags,}$(printf "%s" "$t" | tr "[:upper:]" "[:lower:]")"',
  'done',
  'tries="${ROLLOVER_KILL_CONFIRM_TRIES:-12}"',
  'pause="${ROLLOVER_KILL_CONFIRM_INTERVAL:-5}"',
  'case "$tries" in ""|*[!0-9]*) echo "ROLLOVER_KILL_CONFIRM_TRIES must be a number" >&2; exit 2 ;; esac',
  'case "$pause" in ""|*[!0-9]*) echo "ROLLOVER_KILL_CONFIRM_INTERVAL must be a number" >&2; exit 2 ;; esac',
  'rm="${ROLLOVER_RM_URL:-http://$(hostname -f):8088}"',
  'url="${rm%/}/ws/v1/cluster/apps?applicationTags=${tags}&states=NEW,NEW_SAVING,SUBMITTED,ACCEPTED,RUNNING"',
  // Prints the ids of the tagged live applications, one a line; exits 1 when it cannot tell.
  'apps() {',
  '  resp=$(curl -sS -L --max-redirs 5 --max-time 30 -H "Accept: application/json" -w "\\n%{http_code}" "$url") ||',
  '    { echo "cannot query the ResourceManager: $url (curl exit $?)" >&2; exit 1; }',
  "  code=${resp##*$'\\n'}",
  "  body=${resp%$'\\n'*}",
  '  case "$code" in',
  '    200) ;;',
  '    401) echo "the ResourceManager asks for authentication (HTTP 401, Kerberos): $url" >&2; exit 1 ;;',
  '    *) echo "the ResourceManager answered HTTP $code: $url" >&2; exit 1 ;;',
  '  esac',
  // Without blanks, the members of a JSON object follow "{" or ","; a quote inside a string
  // (a name, diagnostics) is escaped, so a name cannot fake an "id" member.
  '  flat=$(printf "%s" "$body" | tr -d " \\t\\r\\n")',
  '  case "$flat" in',
  `    '{"apps":null}'|'{"apps":{}}') return 0 ;;`,
  `    '{"apps":{"app":['*) ;;`,
  '    *) echo "not the ResourceManager\'s JSON list of applications from $url: $(printf "%s" "$body" | head -c 200)" >&2; exit 1 ;;',
  '  esac',
  `  printf "%s\\n" "$flat" | grep -oE '[{,]"id":"application_[0-9]+_[0-9]+"' | grep -oE 'application_[0-9]+_[0-9]+' | sort -u`,
  '}',
  'ids=$(apps)',
  'for id in $ids; do',
  '  echo "killing $id"',
  '  yarn application -kill "$id" || echo "yarn application -kill $id failed (exit $?)" >&2',
  'done',
  'i=0',
  'while :; do',
  '  left=$(apps)',
  '  if [ -z "$left" ]; then echo "killed: $(echo ${ids:-none})"; exit 0; fi',
  '  i=$((i + 1))',
  '  [ "$i" -lt "$tries" ] || break',
  '  sleep "$pause"',
  'done',
  'echo "still running: $(echo $left)" >&2',
  'exit 1',
].join('\n')

export const KILL_STEP_MARKER_ARG = 'rollover-kill'

/** What a kill step kills: applications carrying any of `tags`, in a step called `name`. */
export interface KillStepInput {
  /** The step's name (at most 256 characters). */
  readonly name: string
  /** YARN tags (letters, digits, '.', '_', '-'); YARN lower-cases tags, so these are too. */
  readonly tags: readonly string[]
}

const TAG_PATTERN = /^[A-Za-z0-9._-]{1,100}$/

/** An EMR step that kills the YARN applications carrying any of `tags`, and confirms it. */
export function buildKillStep(input: KillStepInput): StepSpec {
  const { name, tags } = input
  if (tags.length === 0) throw new Error('buildKillStep: no tag to kill by')
  const bad = tags.find((t) => !TAG_PATTERN.test(t))
  if (bad !== undefined) {
    throw new Error(`buildKillStep: tag '${bad}': use 1 to 100 letters, digits, '.', '_' or '-'`)
  }
  if (name.length === 0 || name.length > 256) {
    throw new Error(`buildKillStep: the name must be 1 to 256 characters, not ${name.length}`)
  }
  return {
    name,
    jar: 'command-runner.jar',
    args: [
      'bash',
      '-c',
      YARN_KILL_SCRIPT,
      KILL_STEP_MARKER_ARG,
      ...[...new Set(tags.map((t) => t.toLowerCase()))],
    ],
    actionOnFailure: 'CONTINUE',
  }
}

/** The tags a kill step kills by (its arguments after `rollover-kill`), lower-cased. */
export function killStepTags(args: readonly string[]): string[] {
  if (args[0] !== 'bash' || args[3] !== KILL_STEP_MARKER_ARG) return []
  return args.slice(4).map((t) => t.toLowerCase())
}
