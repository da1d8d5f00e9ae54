// The environment every benchmark sidecar starts from: loopback listeners, a key, every poller off
// (a poll, the census included, would add its requests to the upstream the benchmark measures).

/** Settings for a benchmark sidecar proxying to `upstream`, listening on the given ports. */
export function benchSidecarEnv(opts: {
  upstream?: string;
  proxyPort: number;
  adminPort: number;
}): Record<string, string> {
  return {
    ...(opts.upstream ? { NYLAS_API_URI: opts.upstream } : {}),
    NYLAS_API_KEY: 'bench-key',
    SIDECAR_LISTEN: `127.0.0.1:${opts.proxyPort}`,
    SIDECAR_ADMIN_LISTEN: `127.0.0.1:${opts.adminPort}`,
    SIDECAR_POLL_GRANTS: 'off',
    SIDECAR_POLL_GRANTS_CENSUS: 'off',
    SIDECAR_POLL_WEBHOOKS: 'off',
    SIDECAR_POLL_STATUS_PAGE: 'off',
    SIDECAR_POLL_ACCOUNTS: 'off',
  };
}
