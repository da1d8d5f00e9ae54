import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';

const BASE = { NYLAS_API_KEY: 'nyk_secret_value_123' };

/** The problems loadConfig reports for an environment (fails the test if it accepts it). */
function problems(env: Record<string, string>, files: Record<string, string> = {}): string[] {
  try {
    loadConfig({
      env,
      readFile: (p) => {
        const f = files[p];
        if (f === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
        return f;
      },
    });
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  throw new Error('the configuration was accepted');
}

describe('configuration defaults', () => {
  it('uses the documented defaults', () => {
    const c = loadConfig({ env: BASE });
    expect(c.nylas.apiUri.href).toBe('https://api.us.nylas.com/');
    expect(c.proxy.listen).toEqual({ host: '127.0.0.1', port: 4000 });
    expect(c.admin.listen).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(c.webhook.listen).toBeUndefined();
    expect(c.proxy.upstreamTimeoutMs).toBe(95_000);
    expect(c.proxy.headersTimeoutMs).toBe(30_000);
    expect(c.proxy.latencyByRoute).toBe(false);
    expect(c.proxy.retryMax).toBe(0);
    expect(c.proxy.latencyBuckets).toContain(0.5);
    expect(c.proxy.latencyBuckets.at(-1)).toBe(120);
    expect(c.pollers).toMatchObject({
      grants: '*/5 * * * *',
      webhooks: '* * * * *',
      statusPage: '* * * * *',
      maxGrantSeries: 1000,
    });
    expect(c.shutdownGraceMs).toBe(30_000);
    expect(c.demo).toBe(false);
    expect(Object.isFrozen(c.proxy)).toBe(true);
  });

  it('is in demo mode without an API key, or when forced', () => {
    expect(loadConfig({ env: {} }).demo).toBe(true);
    expect(loadConfig({ env: { ...BASE, SIDECAR_DEMO: '1' } }).demo).toBe(true);
  });

  it('says what became of a retired setting, in the environment or in the file', () => {
    const fromFile = problems(
      { ...BASE, SIDECAR_CONFIG: '/etc/s.yml' },
      { '/etc/s.yml': 'SIDECAR_MAX_ROUTE_SERIES: 400\n' },
    );
    expect(fromFile).toEqual([
      expect.stringMatching(
        /^SIDECAR_MAX_ROUTE_SERIES \(in \/etc\/s\.yml\): no longer a setting: .*\(README, Metrics\); remove it$/,
      ),
    ]);
  });

  it('reads a YAML file and lets the environment win over it', () => {
    const c = loadConfig({
      env: { SIDECAR_CONFIG: '/etc/s.yml', SIDECAR_RETRY_MAX: '2' },
      readFile: () =>
        'NYLAS_API_KEY: from-file\nSIDECAR_RETRY_MAX: 1\nSIDECAR_POLL_GRANTS: "off"\nNYLAS_WEBHOOK_SECRET: [a, b]\n',
    });
    expect(c.nylas.apiKey).toBe('from-file');
    expect(c.proxy.retryMax).toBe(2);
    expect(c.pollers.grants).toBeNull();
    expect(c.nylas.webhookSecrets).toEqual(['a', 'b']);
    expect(c.webhook.verify).toBe('enforce');
  });

  it('strips a trailing slash from the upstream base and keeps its path', () => {
    expect(
      loadConfig({ env: { ...BASE, NYLAS_API_URI: 'http://127.0.0.1:8080/nylas/' } }).nylas.apiUri
        .pathname,
    ).toBe('/nylas');
  });
});

describe('configuration rejections', () => {
  it.each([
    [
      { NYLAS_API_URI: 'ftp://x' },
      /NYLAS_API_URI="ftp:\/\/x": allowed: an http:\/\/ or https:\/\/ URL/,
    ],
    [
      { NYLAS_API_URI: 'not a url' },
      /NYLAS_API_URI="not a url": allowed: an absolute http\(s\) URL/,
    ],
    [{ NYLAS_API_URI: 'https://user:pw@api.us.nylas.com' }, /NYLAS_API_URI=.*without credentials/],
    [{ NYLAS_STATUS_PAGE_URL: 'file:///etc/passwd' }, /NYLAS_STATUS_PAGE_URL=/],
    [{ SIDECAR_LISTEN: 'localhost' }, /SIDECAR_LISTEN="localhost": allowed: host:port/],
    [{ SIDECAR_ADMIN_LISTEN: '127.0.0.1:99999' }, /SIDECAR_ADMIN_LISTEN="127.0.0.1:99999"/],
    [{ SIDECAR_WEBHOOK_LISTEN: ':x' }, /SIDECAR_WEBHOOK_LISTEN=":x"/],
    [{ SIDECAR_WEBHOOK_FORWARD_URL: 'app:8080' }, /SIDECAR_WEBHOOK_FORWARD_URL=/],
    [
      { SIDECAR_WEBHOOK_VERIFY: 'strict' },
      /SIDECAR_WEBHOOK_VERIFY="strict": allowed: enforce, observe, off/,
    ],
    [{ SIDECAR_INJECT_API_KEY: 'maybe' }, /SIDECAR_INJECT_API_KEY="maybe": allowed: true or false/],
    [
      { SIDECAR_UPSTREAM_TIMEOUT_MS: '10s' },
      /SIDECAR_UPSTREAM_TIMEOUT_MS="10s": allowed: a whole number from 100 to 3600000/,
    ],
    [{ SIDECAR_RETRY_MAX: '-1' }, /SIDECAR_RETRY_MAX="-1": allowed: a whole number from 0 to 5/],
    [
      { SIDECAR_POLL_GRANTS: 'every 5 minutes' },
      /SIDECAR_POLL_GRANTS="every 5 minutes": allowed: a node-cron schedule/,
    ],
    [{ SIDECAR_POLL_WEBHOOKS: '61 * * * *' }, /SIDECAR_POLL_WEBHOOKS=/],
    [{ SIDECAR_POLL_STATUS_PAGE: '' }, /SIDECAR_POLL_STATUS_PAGE=/],
    [{ SIDECAR_POLL_ACCOUNTS: '* * *' }, /SIDECAR_POLL_ACCOUNTS=/],
    [{ SIDECAR_RESTART_STOPPED_ACCOUNTS: 'yes please' }, /SIDECAR_RESTART_STOPPED_ACCOUNTS=/],
    [{ SIDECAR_MAX_GRANT_SERIES: '1e9' }, /SIDECAR_MAX_GRANT_SERIES=/],
    [
      { SIDECAR_HEADERS_TIMEOUT_MS: '0' },
      /SIDECAR_HEADERS_TIMEOUT_MS="0": allowed: a whole number from 100 to 600000/,
    ],
    [
      { SIDECAR_MAX_ROUTE_SERIES: '150' },
      /^SIDECAR_MAX_ROUTE_SERIES: no longer a setting: every \(method, route\) pair of the route table is labelled by name.*remove it$/,
    ],
    [{ SIDECAR_LATENCY_BY_ROUTE: 'maybe' }, /SIDECAR_LATENCY_BY_ROUTE="maybe": /],
    [
      { SIDECAR_LATENCY_BUCKETS: '1,0.5' },
      /SIDECAR_LATENCY_BUCKETS="1,0.5": allowed: up to 40 increasing positive numbers/,
    ],
    [{ SIDECAR_LATENCY_BUCKETS: 'a,b' }, /SIDECAR_LATENCY_BUCKETS=/],
    [{ SIDECAR_SHUTDOWN_GRACE_MS: 'forever' }, /SIDECAR_SHUTDOWN_GRACE_MS=/],
    [
      { SIDECAR_LOG_LEVEL: 'verbose' },
      /SIDECAR_LOG_LEVEL="verbose": allowed: trace, debug, info, warn, error, fatal, silent/,
    ],
    [{ SIDECAR_DEMO: 'sometimes' }, /SIDECAR_DEMO=/],
    [{ SIDECAR_LISTNE: '127.0.0.1:1' }, /SIDECAR_LISTNE: unknown setting/],
    [
      { SIDECAR_WEBHOOK_LISTEN: '127.0.0.1:4100' },
      /SIDECAR_WEBHOOK_FORWARD_URL=\(unset\): required when SIDECAR_WEBHOOK_LISTEN is set/,
    ],
    [
      { SIDECAR_WEBHOOK_VERIFY: 'enforce' },
      /SIDECAR_WEBHOOK_VERIFY="enforce": needs NYLAS_WEBHOOK_SECRET/,
    ],
    [
      { NYLAS_CLIENT_ID: 'abc' },
      /NYLAS_CLIENT_SECRET=\(unset\): NYLAS_CLIENT_ID and NYLAS_CLIENT_SECRET go together/,
    ],
    [
      { SIDECAR_ADMIN_LISTEN: '127.0.0.1:4000' },
      /SIDECAR_ADMIN_LISTEN="127.0.0.1:4000": same address as SIDECAR_LISTEN/,
    ],
  ])('rejects %o', (env, message) => {
    const found = problems({ ...BASE, ...env });
    expect(
      found.some((p) => message.test(p)),
      found.join('\n'),
    ).toBe(true);
  });

  it('rejects an API key injection without a key outside demo mode only when a key is missing', () => {
    // In demo mode the simulator's key is injected: accepted.
    expect(
      loadConfig({ env: { SIDECAR_INJECT_API_KEY: 'true', SIDECAR_DEMO: 'true' } }).proxy
        .injectApiKey,
    ).toBe(true);
    // Asking for injection is a production setting: live mode, and then the key is missing.
    expect(problems({ SIDECAR_INJECT_API_KEY: 'true' })).toEqual([
      'SIDECAR_INJECT_API_KEY="true": needs NYLAS_API_KEY',
    ]);
  });

  it('rejects unreadable, malformed and unknown-key YAML files', () => {
    expect(problems({ SIDECAR_CONFIG: '/missing.yml' })).toEqual([
      'SIDECAR_CONFIG="/missing.yml": cannot read the file (ENOENT)',
    ]);
    expect(problems({ SIDECAR_CONFIG: '/bad.yml' }, { '/bad.yml': 'a: [1,\n' })[0]).toMatch(
      /not valid YAML/,
    );
    expect(problems({ SIDECAR_CONFIG: '/list.yml' }, { '/list.yml': '- a\n- b\n' })[0]).toMatch(
      /must hold a mapping/,
    );
    expect(
      problems({ SIDECAR_CONFIG: '/k.yml' }, { '/k.yml': 'NYLAS_API_KEY: x\nSIDECAR_FOO: 1\n' }),
    ).toEqual(['SIDECAR_FOO (in /k.yml): unknown setting']);
  });

  it('gives the YAML parser’s reason and line, and never a secret’s line', () => {
    expect(
      problems(
        { SIDECAR_CONFIG: '/i.yml' },
        { '/i.yml': 'SIDECAR_LISTEN: 127.0.0.1:4000\n  SIDECAR_LOG_LEVEL: debug\n' },
      ),
    ).toEqual([
      'SIDECAR_CONFIG="/i.yml": not valid YAML at line 2: Nested mappings are not allowed in compact mappings ("SIDECAR_LOG_LEVEL: debug")',
    ]);
    expect(
      problems(
        { SIDECAR_CONFIG: '/d.yml' },
        { '/d.yml': 'SIDECAR_RETRY_MAX: 1\nSIDECAR_RETRY_MAX: 2\n' },
      ),
    ).toEqual([
      'SIDECAR_CONFIG="/d.yml": not valid YAML at line 2: Map keys must be unique ("SIDECAR_RETRY_MAX: 2")',
    ]);
    const secret = problems(
      { SIDECAR_CONFIG: '/s.yml' },
      { '/s.yml': 'SIDECAR_RETRY_MAX: 1\nNYLAS_API_KEY: nyk_abc\nNYLAS_API_KEY: nyk_def\n' },
    );
    expect(secret).toEqual([
      'SIDECAR_CONFIG="/s.yml": not valid YAML at line 3: Map keys must be unique ("NYLAS_API_KEY: ****")',
    ]);
  });

  it('requires host:port for every listen address', () => {
    for (const key of ['SIDECAR_LISTEN', 'SIDECAR_ADMIN_LISTEN', 'SIDECAR_WEBHOOK_LISTEN'])
      expect(problems({ ...BASE, [key]: '4000' })).toContainEqual(
        `${key}="4000": a port alone is not an address; allowed: host:port, e.g. 127.0.0.1:4000 (this host only) or 0.0.0.0:4000 (every interface)`,
      );
    expect(problems({ ...BASE, SIDECAR_LISTEN: 'bad host:4000' })).toEqual([
      'SIDECAR_LISTEN="bad host:4000": allowed: host:port, e.g. 127.0.0.1:4000 or :4000',
    ]);
    const ok = (v: string) => loadConfig({ env: { ...BASE, SIDECAR_LISTEN: v } }).proxy.listen;
    expect(ok(':4000')).toEqual({ host: '0.0.0.0', port: 4000 });
    expect(ok('localhost:4000')).toEqual({ host: 'localhost', port: 4000 });
    expect(ok('[::1]:4000')).toEqual({ host: '::1', port: 4000 });
  });

  it('reports every problem at once', () => {
    const found = problems({
      ...BASE,
      SIDECAR_RETRY_MAX: 'x',
      SIDECAR_LOG_LEVEL: 'loud',
      NYLAS_API_URI: 'nope',
    });
    expect(found).toHaveLength(3);
  });

  it('never shows a secret value in a message', () => {
    const found = problems({
      NYLAS_API_KEY: 'nyk_secret_value_123',
      NYLAS_WEBHOOK_SECRET: 'whsec_very_secret',
      SIDECAR_WEBHOOK_VERIFY: 'bogus',
      SIDECAR_RETRY_MAX: 'x',
    });
    expect(found.join('\n')).not.toMatch(/nyk_secret_value_123|whsec_very_secret/);
  });
});
