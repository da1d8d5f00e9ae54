import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths pino censors wherever they appear. Log calls in this code base pass only allow-listed
 * fields (route, code, error_type, request ids); this list is the second line of defence.
 */
const REDACT_PATHS = [
  'authorization',
  'headers.authorization',
  '*.authorization',
  'apiKey',
  '*.apiKey',
  'clientSecret',
  '*.clientSecret',
  'webhookSecrets',
  '*.webhookSecrets',
  'token',
  '*.token',
  'access_token',
  '*.access_token',
];

export interface LoggerOptions {
  level: string;
  /** Where lines go; stdout when omitted. */
  destination?: DestinationStream;
}

/** Creates the JSON logger: one object per line on stdout, secrets censored. */
export function createLogger(opts: LoggerOptions): Logger {
  return pino(
    {
      level: opts.level,
      base: { service: 'nylas-sidecar' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    opts.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
