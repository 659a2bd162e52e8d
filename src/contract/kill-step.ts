// The forced stop: an EMR step that kills, through YARN, every application carrying this app's
// tag, then checks that none is left. Pure: the script is a constant, the tag its argument.
import type { StepSpec } from '../aws/emr-port.ts'

/**
 * Kills every YARN application carrying `tag`, then checks none is left. Runs as an EMR step on
 * the primary node; the tag is passed as $1, so no input is ever spliced into the script text.
 * The ResourceManager REST API filters by tag (the CLI's -appTags is not in every Hadoop).
 * A query that fails (RM unreachable, standby RM, authentication required) fails the step: an
 * unanswered query must never read as "no application left", or a live driver would be taken
 * for a dead one and a second driver submitted beside it.
 */
export const YARN_KILL_SCRIPT = [
  'set -eu',
  'tag="$1"',
  'rm="http://$(hostname -f):8088/ws/v1/cluster/apps?applicationTags=${tag}&states=NEW,NEW_SAVING,SUBMITTED,ACCEPTED,RUNNING"',
  'apps() {',
  '  body=$(curl -sfL --max-time 30 "$rm") || { echo "cannot query the ResourceManager: $rm" >&2; exit 1; }',
  '  printf "%s\\n" "$body" | grep -o "application_[0-9]*_[0-9]*" | sort -u || true',
  '}',
  'ids=$(apps)',
  'for id in $ids; do yarn application -kill "$id"; done',
  'for i in 1 2 3 4 5 6 7 8 9 10 11 12; do',
  '  left=$(apps)',
  '  [ -z "$left" ] && { echo "killed: ${ids:-none}"; exit 0; }',
  '  sleep 5',
  'done',
  'echo "still running: $left" >&2; exit 1',
].join('\n')

export const KILL_STEP_MARKER_ARG = 'rollover-kill'

/** An EMR step that kills the YARN applications carrying any of `tags`, and confirms it. */
export function buildKillStep(request: {
  readonly name: string
  readonly tags: readonly string[]
}): StepSpec {
  if (request.tags.length === 0) throw new Error('buildKillStep: no tag to kill by')
  return {
    name: request.name,
    jar: 'command-runner.jar',
    args: ['bash', '-c', YARN_KILL_SCRIPT, KILL_STEP_MARKER_ARG, ...request.tags],
    actionOnFailure: 'CONTINUE',
  }
}
