/** What a masked part of a value is replaced with. */
export const MASK = '****';

/** A word of text: a run of characters that can be part of a URL in a message. */
const TOKEN = /[^\s"'`<>]+/g;
const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/** Masks each `name=value` of a query or fragment, keeping the names. */
function maskPairs(s: string): string {
  return s
    .split(/([&;])/)
    .map((part) => {
      if (part === '&' || part === ';' || part === '') return part;
      const eq = part.indexOf('=');
      // A part without `=` may be a bare token (`?abc123`): masked whole.
      return eq < 0 ? MASK : `${part.slice(0, eq + 1)}${MASK}`;
    })
    .join('');
}

function redactToken(token: string): string {
  let out = token;
  // Userinfo: everything between the scheme (or the start) and the last `@`. A password may
  // itself hold `@`, `/` or `?` when it is not percent-encoded (then the URL does not even parse),
  // so the last `@` is the only safe end; a path or query `@` after the host over-masks, which a
  // message can afford. `@hourly` (nothing before the `@`) is not userinfo.
  const at = out.lastIndexOf('@');
  if (at > 0) {
    const scheme = SCHEME.exec(out)?.[0] ?? '';
    if (at > scheme.length) out = `${scheme}${MASK}${out.slice(at)}`;
  }
  // Query and fragment values: from the first `?` or `#` on.
  const q = out.search(/[?#]/);
  if (q >= 0) {
    const head = out.slice(0, q + 1);
    const rest = out.slice(q + 1);
    out = `${head}${rest.replace(/[^?#]+|[?#]/g, (p) => (p === '?' || p === '#' ? p : maskPairs(p)))}`;
  }
  return out;
}

/**
 * Masks credentials in any text about to be shown to a person (an error message, a start-up
 * line): the userinfo of URLs (`https://user:pass@host` -> `https://****@host`) and the values of
 * query strings and fragments (`?token=abc` -> `?token=****`), whether or not the URL is valid.
 * The one place this is done, so that every message built from a setting's value is masked by
 * construction rather than setting by setting.
 */
export function redactCredentials(text: string): string {
  return text.replace(TOKEN, redactToken);
}
