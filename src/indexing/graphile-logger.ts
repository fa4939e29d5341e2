import { Logger as GraphileLogger } from 'graphile-worker';
import type { Logger } from '../logger';

/** graphile-worker's log lines through our logger (JSON, levels kept; its debug chatter stays at debug). */
export function graphileLogger(logger: Logger): GraphileLogger {
  return new GraphileLogger((scope) => (level, message, meta) => {
    const lvl = level === 'error' ? 'error' : level === 'warning' ? 'warn' : level === 'info' ? 'info' : 'debug';
    logger.log(lvl, message, { component: 'queue', ...scope, ...(meta ?? {}) });
  });
}
