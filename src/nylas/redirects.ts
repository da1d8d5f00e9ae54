/**
 * Which redirects of the status page may be followed: the same host, or a host in the configured
 * host's domain (status.nylas.com -> status-v3.nylas.com), never a downgrade from https to http.
 * A status page that redirected anywhere would make the sidecar fetch, and trust, any server.
 */
export function redirectAllowed(configured: URL, target: URL): boolean {
  if (target.protocol !== 'https:' && target.protocol !== 'http:') return false;
  if (configured.protocol === 'https:' && target.protocol !== 'https:') return false;
  if (target.username || target.password) return false;
  const from = configured.hostname.toLowerCase();
  const to = target.hostname.toLowerCase();
  if (to === from) return true;
  const domain = registrableDomain(from);
  return domain !== undefined && (to === domain || to.endsWith(`.${domain}`));
}

/**
 * The last two labels of a DNS name (nylas.com of status.nylas.com); undefined for an IP address,
 * a single-label name, or a name under a two-letter country suffix such as co.uk (no public-suffix
 * list here), which then only ever match themselves.
 */
function registrableDomain(host: string): string | undefined {
  if (/^[\d.]+$/.test(host) || host.includes(':')) return undefined;
  const labels = host.split('.').filter(Boolean);
  if (labels.length < 2) return undefined;
  const two = labels.slice(-2);
  // A two-letter second-level label under a country code (co.uk, com.au) is a public suffix.
  if (labels.length >= 3 && two[1]!.length === 2 && two[0]!.length <= 3) return undefined;
  return two.join('.');
}

/** Redirect statuses that carry a Location to follow for a GET. */
export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
