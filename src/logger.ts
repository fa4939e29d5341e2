import winston from 'winston';

export type Logger = winston.Logger;

/** Keys whose values never reach a log line, whatever logs them. */
const SECRET_KEYS = /secret|password|token|authorization|cookie/i;

const redact = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (SECRET_KEYS.test(key)) info[key] = '[redacted]';
  }
  return info;
});

export function createLogger(level: string): Logger {
  return winston.createLogger({
    level: level === 'silent' ? 'error' : level,
    silent: level === 'silent',
    format: winston.format.combine(redact(), winston.format.timestamp(), winston.format.json()),
    defaultMeta: { service: 'bulksync' },
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn'] })],
  });
}
