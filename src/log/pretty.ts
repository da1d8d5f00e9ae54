import type { DestinationStream } from 'pino';

/**
 * A readable log stream for a person at a terminal: one short coloured line per event instead of
 * JSON. Loaded only then (main.ts checks stdout is a TTY); log shippers keep getting JSON.
 * pino-pretty runs in this thread as a plain stream, not as a worker transport, so the order of
 * log lines and the start-up banner on stderr stays as written.
 */
export async function prettyDestination(): Promise<DestinationStream> {
  const { default: pretty } = await import('pino-pretty');
  return pretty({
    colorize: true,
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname,service',
    singleLine: true,
    destination: 1,
    sync: true,
  });
}
