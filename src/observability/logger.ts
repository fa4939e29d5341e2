import winston from 'winston';

export type Logger = winston.Logger;

/** Keys whose values never reach a log line, at any depth, whatever logs them. */
const SECRET_KEYS = /secret|password|passwd|token|authorization|cookie|api[-_]?key|credential/i;
/** Values that are secrets whatever their key: bearer/basic credentials and JSON Web Tokens. */
const SECRET_VALUES = /\b(Bearer|Basic)\s+\S+|\beyJ[\w-]+\.[\w-]+\.[\w-]*/g;
/** The password of a connection string (postgres://user:password@host). */
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/gi;

/**
 * Bounds of any logged value: a log line describes an event, it never carries data. A value past them is cut and
 * says so (a job payload of 20,000 ids once made a 780 KB line).
 */
export const LOG_LIMITS = { string: 1000, items: 20, keys: 40, depth: 6 } as const;

function redactString(s: string): string {
  const cleaned = s.replace(SECRET_VALUES, (m) => (m.startsWith('eyJ') ? '[redacted]' : `${m.split(/\s+/)[0]} [redacted]`)).replace(URL_PASSWORD, '$1[redacted]@');
  return cleaned.length > LOG_LIMITS.string ? `${cleaned.slice(0, LOG_LIMITS.string)}…[${cleaned.length} chars]` : cleaned;
}

/** A bounded, redacted copy (the caller's objects are never changed: they may be a job or a request body). */
export function safeValue(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return redactString(value);
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return typeof value === 'function' ? '[function]' : value;
  if (value instanceof Date) return value.toISOString();
  if (seen.has(value)) return '[circular]';
  if (depth >= LOG_LIMITS.depth) return Array.isArray(value) ? `[array of ${value.length}]` : '[object]';
  seen.add(value);
  try {
    if (value instanceof Error) {
      const code = (value as { code?: unknown }).code;
      return { message: redactString(value.message), ...(typeof code === 'string' ? { code } : {}) };
    }
    if (Array.isArray(value)) {
      const items = value.slice(0, LOG_LIMITS.items).map((v) => safeValue(v, depth + 1, seen));
      if (value.length > LOG_LIMITS.items) items.push(`…[${value.length} items]`);
      return items;
    }
    if (Buffer.isBuffer(value)) return `[${value.length} bytes]`;
    const out: Record<string, unknown> = {};
    const keys = Object.keys(value);
    for (const key of keys.slice(0, LOG_LIMITS.keys)) {
      out[key] = SECRET_KEYS.test(key) ? '[redacted]' : safeValue((value as Record<string, unknown>)[key], depth + 1, seen);
    }
    if (keys.length > LOG_LIMITS.keys) out['…'] = `${keys.length} keys`;
    return out;
  } finally {
    seen.delete(value);
  }
}

/** Redacts and bounds every field of a log line; winston's own symbol keys (level, message, splat) are kept. */
export const redact = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (key === 'level') continue;
    info[key] = SECRET_KEYS.test(key) ? '[redacted]' : safeValue(info[key], 1);
  }
  return info;
});

/** The format of every log line: redacted and bounded, timestamped JSON. */
export function logFormat(): winston.Logform.Format {
  return winston.format.combine(redact(), winston.format.timestamp(), winston.format.json());
}

export interface LoggerOptions {
  /** Where lines go; default: stdout (warnings and errors to stderr). Tests pass one that keeps them in memory. */
  transports?: winston.LoggerOptions['transports'];
}

export function createLogger(level: string, opts: LoggerOptions = {}): Logger {
  return winston.createLogger({
    level: level === 'silent' ? 'error' : level,
    silent: level === 'silent',
    format: logFormat(),
    defaultMeta: { service: 'bulksync' },
    transports: opts.transports ?? [new winston.transports.Console({ stderrLevels: ['error', 'warn'] })],
  });
}
