// Long waits are visible: a drain of ten minutes or a two-minute stability window logs where it
// stands about every 30 s (time spent against the deadline, and what was last seen).
import { formatDuration } from '../clock.ts'
import type { RunScope } from './context.ts'

export interface StatusTicker {
  /** Logs a status line when one is due; cheap to call on every check. */
  tick(): void
}

export function statusTicker(
  ctx: Pick<RunScope, 'clock' | 'log' | 'timings'>,
  deadline: number,
  lastSeen: () => string,
  waitingFor = 'Still waiting',
): StatusTicker {
  const started = ctx.clock.monotonic()
  let lastLine = started
  return {
    tick() {
      const now = ctx.clock.monotonic()
      if (now - lastLine < ctx.timings.statusEveryMs) return
      lastLine = now
      const seen = lastSeen()
      ctx.log.info(
        `${waitingFor}: ${formatDuration(now - started)} of ${formatDuration(deadline - started)}${seen ? `; ${seen}` : ''}.`,
      )
    },
  }
}
