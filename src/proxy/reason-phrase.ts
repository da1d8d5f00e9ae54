import { STATUS_CODES } from 'node:http';

/** Visible ASCII, space and tab: what every HTTP/1.1 client reads the same way. */
const SAFE = /^[\t\x20-\x7e]*$/;

/**
 * The reason phrase to send the app for an upstream's status line. RFC 9112 lets a reason phrase
 * carry any octets, and undici hands them over decoded as UTF-8, but Node's writeHead throws on
 * characters above U+00FF (`Сервис недоступен`). The phrase means nothing to a client (RFC 9112
 * section 4), so an unusual one is replaced by the standard phrase for the code; the status
 * itself always passes through.
 */
export function safeReasonPhrase(status: number, phrase: string | undefined): string | undefined {
  if (!phrase) return undefined;
  if (SAFE.test(phrase)) return phrase;
  return STATUS_CODES[status] ?? undefined;
}
