import { describe, expect, it } from 'vitest';
import { ConfigError, displayValue, loadConfig } from '../../src/config/index.js';
import { envSchema } from '../../src/config/schema.js';

const BASE = { NYLAS_API_KEY: 'nyk_base_key_value' };

/** Every problem loadConfig reports (none when it accepts the configuration). */
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
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems, err.message];
    throw err;
  }
}

const CANARY = /C4NARY/;

/** Values that carry a credential in the places a URL can: userinfo, query, fragment. */
const CANARY_VALUES = [
  'https://canary-user:C4NARY_PW@h.example/p?token=C4NARY_Q#frag=C4NARY_F',
  'http://C4NARY_USER@h.example/',
  'ftp://u:C4NARY_PW@h.example/',
  'user:C4NARY_PW@host:8080',
  'not a url?token=C4NARY_Q',
  'https://h.example/hook?C4NARY_BARE',
  '1,2?token=C4NARY_Q',
  '*/5 * * * *?token=C4NARY_Q',
  '127.0.0.1:4000?token=C4NARY_Q',
];

describe('credentials in configuration messages', () => {
  it.each([
    [
      'NYLAS_API_URI',
      'https://user:C4NARY_PW@api.us.nylas.com',
      /NYLAS_API_URI="https:\/\/\*\*\*\*@api\.us\.nylas\.com": allowed: an http:\/\/ or https:\/\/ URL without credentials/,
    ],
    [
      'NYLAS_STATUS_PAGE_URL',
      'https://user:C4NARY_PW@status.nylas.com',
      /NYLAS_STATUS_PAGE_URL="https:\/\/\*\*\*\*@status\.nylas\.com"/,
    ],
    [
      'SIDECAR_WEBHOOK_FORWARD_URL',
      'http://hook:C4NARY_PW@app:8080/hook',
      /SIDECAR_WEBHOOK_FORWARD_URL="http:\/\/\*\*\*\*@app:8080\/hook"/,
    ],
    [
      'NYLAS_API_URI',
      'api.nylas.com/v3?token=C4NARY_Q',
      /NYLAS_API_URI="api\.nylas\.com\/v3\?token=\*\*\*\*": allowed: an absolute http\(s\) URL/,
    ],
    [
      'SIDECAR_WEBHOOK_FORWARD_URL',
      'ftp://app/hook?token=C4NARY_Q',
      /SIDECAR_WEBHOOK_FORWARD_URL="ftp:\/\/app\/hook\?token=\*\*\*\*"/,
    ],
    [
      'SIDECAR_LISTEN',
      'u:C4NARY_PW@127.0.0.1:4000',
      /SIDECAR_LISTEN="\*\*\*\*@127\.0\.0\.1:4000": allowed: host:port/,
    ],
    [
      'SIDECAR_UPSTREAM_TIMEOUT_MS',
      '10?token=C4NARY_Q',
      /SIDECAR_UPSTREAM_TIMEOUT_MS="10\?token=\*\*\*\*"/,
    ],
    [
      'SIDECAR_INJECT_API_KEY',
      'https://u:C4NARY_PW@x',
      /SIDECAR_INJECT_API_KEY="https:\/\/\*\*\*\*@x": allowed: true or false/,
    ],
    [
      'SIDECAR_LOG_LEVEL',
      'info?token=C4NARY_Q',
      /SIDECAR_LOG_LEVEL="info\?token=\*\*\*\*": allowed: trace/,
    ],
    [
      'SIDECAR_POLL_GRANTS',
      'https://u:C4NARY_PW@x/',
      /SIDECAR_POLL_GRANTS="https:\/\/\*\*\*\*@x\/": allowed: a node-cron schedule/,
    ],
    [
      'SIDECAR_LATENCY_BUCKETS',
      '1,2?token=C4NARY_Q',
      /SIDECAR_LATENCY_BUCKETS="1,2\?token=\*\*\*\*"/,
    ],
    [
      'SIDECAR_CONFIG',
      'https://u:C4NARY_PW@x/conf.yml',
      /SIDECAR_CONFIG="https:\/\/\*\*\*\*@x\/conf\.yml": cannot read the file/,
    ],
  ])('%s: masks the credential of %s and still names the setting', (key, value, message) => {
    const found = problems({ ...BASE, [key]: value });
    expect(
      found.some((p) => message.test(p)),
      found.join('\n'),
    ).toBe(true);
    expect(found.join('\n')).not.toMatch(CANARY);
  });

  it('never echoes the value of an unknown SIDECAR_ setting, in the environment or the file', () => {
    const env = problems({ ...BASE, SIDECAR_API_KEY: 'C4NARY_SECRET' });
    expect(env).toContain('SIDECAR_API_KEY: unknown setting');
    const file = problems(
      { ...BASE, SIDECAR_CONFIG: '/s.yml' },
      { '/s.yml': 'SIDECAR_TOKEN: C4NARY_SECRET\n' },
    );
    expect(file).toContain('SIDECAR_TOKEN (in /s.yml): unknown setting');
    expect([...env, ...file].join('\n')).not.toMatch(CANARY);
  });

  it('displayValue masks every non-secret value the same way', () => {
    expect(displayValue('ANY', 'https://u:C4NARY_PW@h/?t=C4NARY_Q')).toBe(
      '"https://****@h/?t=****"',
    );
    expect(displayValue('NYLAS_API_KEY', 'C4NARY_KEY')).toBe('"****" (secret, 10 characters)');
  });

  // The canary sweep: every setting the schema knows, with every kind of credential-carrying value,
  // from the environment and from the YAML file; no message may show any part of a credential.
  const keys = Object.keys(envSchema.shape);
  it.each(keys)('%s: no credential in any message, from the environment or the file', (key) => {
    for (const value of CANARY_VALUES) {
      const fromEnv = problems({ ...BASE, [key]: value });
      expect(fromEnv.join('\n'), `${key}=${value}`).not.toMatch(CANARY);
      if (key === 'SIDECAR_CONFIG') continue;
      const fromFile = problems(
        { ...BASE, SIDECAR_CONFIG: '/c.yml' },
        { '/c.yml': `${key}: ${JSON.stringify(value)}\n` },
      );
      expect(fromFile.join('\n'), `${key}: ${value} (file)`).not.toMatch(CANARY);
    }
  });

  it('the sweep reaches the messages: most settings reject these values', () => {
    let rejected = 0;
    for (const key of keys)
      if (problems({ ...BASE, [key]: CANARY_VALUES[0]! }).some((p) => p.startsWith(key)))
        rejected++;
    expect(rejected).toBeGreaterThanOrEqual(keys.length - 6);
  });
});
