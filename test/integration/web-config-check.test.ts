// Checking a web config file: what --check-config says about each mistake, one line each, naming
// the setting and the field, never quoting a key, a hash or a password.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadWebConfig } from '../../src/util/web-config.js';
import { MAIN } from '../helpers/process.js';
import { bcryptHash, makeTestPki, type TestPki } from '../helpers/tls.js';

const PASSWORD = 'CANARYcheckpassword3c5e7a9b1d';

let pki: TestPki;
beforeAll(() => {
  pki = makeTestPki();
});

function file(name: string, lines: string[]): string {
  const f = join(pki.dir, name);
  writeFileSync(f, `${lines.join('\n')}\n`);
  return f;
}

const read = (p: string) => readFileSync(p, 'utf8');
const check = (path: string, allow: 'full' | 'tls' = 'full') =>
  loadWebConfig(path, { setting: 'SIDECAR_ADMIN_WEB_CONFIG', readFile: read, allow });
const problems = (path: string, allow: 'full' | 'tls' = 'full') => {
  const r = check(path, allow);
  return r.ok ? [] : r.problems;
};

function run(env: Record<string, string>) {
  const r = spawnSync(process.execPath, [MAIN, '--check-config'], {
    env: { PATH: process.env.PATH ?? '', NYLAS_API_KEY: 'k', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('web config file checks', () => {
  it('accepts the exporter toolkit fields, with paths relative to the file', () => {
    const f = file('good.yml', [
      'tls_server_config:',
      '  cert_file: server.crt',
      '  key_file: server.key',
      '  client_ca_file: ca.crt',
      '  client_auth_type: RequireAndVerifyClientCert',
      '  min_version: TLS13',
      'basic_auth_users:',
      `  prometheus: ${bcryptHash(PASSWORD)}`,
    ]);
    const r = check(f);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.tls?.minVersion).toBe('TLSv1.3');
    expect(r.config.tls?.clientAuth).toBe('RequireAndVerifyClientCert');
    expect(r.config.files).toEqual([f, pki.serverCert, pki.serverKey, pki.caCert]);
    expect([...r.config.users.keys()]).toEqual(['prometheus']);
  });

  it('names unknown and unsupported fields', () => {
    const f = file('unknown.yml', [
      'tls_server_config:',
      `  cert_file: ${pki.serverCert}`,
      `  key_file: ${pki.serverKey}`,
      '  cert_flie: x',
      '  cipher_suites: [TLS_AES_128_GCM_SHA256]',
      'basic_auth_user: {}',
    ]);
    expect(problems(f)).toEqual([
      `SIDECAR_ADMIN_WEB_CONFIG="${f}": basic_auth_user: unknown field`,
      `SIDECAR_ADMIN_WEB_CONFIG="${f}": tls_server_config.cert_flie: unknown field`,
      `SIDECAR_ADMIN_WEB_CONFIG="${f}": tls_server_config.cipher_suites: Node picks its cipher suites; set min_version instead`,
    ]);
  });

  it('reports an unreadable certificate, a key that does not match it, and a hash that is not bcrypt', () => {
    const f = file('bad.yml', [
      'tls_server_config:',
      `  cert_file: ${join(pki.dir, 'missing.crt')}`,
      `  key_file: ${pki.strangerKey}`,
      'basic_auth_users:',
      `  alice: ${PASSWORD}`,
      "  bob: '$2b$10$short'",
    ]);
    const p = problems(f);
    expect(p).toEqual([
      `SIDECAR_ADMIN_WEB_CONFIG="${f}": tls_server_config.cert_file: cannot read "${join(pki.dir, 'missing.crt')}" (ENOENT)`,
      expect.stringContaining('basic_auth_users.alice: not a bcrypt hash'),
      expect.stringContaining('basic_auth_users.bob: not a bcrypt hash'),
    ]);
    const mismatch = file('mismatch.yml', [
      'tls_server_config:',
      `  cert_file: ${pki.serverCert}`,
      `  key_file: ${pki.strangerKey}`,
    ]);
    expect(problems(mismatch)).toEqual([
      `SIDECAR_ADMIN_WEB_CONFIG="${mismatch}": tls_server_config.key_file: the key in "${pki.strangerKey}" does not match the certificate in cert_file`,
    ]);
    const notPem = file('notpem.yml', [
      'tls_server_config:',
      `  cert_file: ${pki.serverKey}`,
      `  key_file: ${pki.serverCert}`,
    ]);
    expect(problems(notPem)).toEqual([
      expect.stringContaining('tls_server_config.cert_file: '),
      expect.stringContaining('tls_server_config.key_file: '),
    ]);
    const all = [...p, ...problems(notPem)].join('\n');
    expect(all).not.toContain(PASSWORD);
    expect(all).not.toContain('PRIVATE KEY');
  });

  it('checks client_auth_type against client_ca_file and TLS versions', () => {
    const f = file('policy.yml', [
      'tls_server_config:',
      `  cert_file: ${pki.serverCert}`,
      `  key_file: ${pki.serverKey}`,
      `  client_ca_file: ${pki.caCert}`,
      '  min_version: TLS1.2',
    ]);
    expect(problems(f)).toEqual([
      expect.stringContaining(
        'tls_server_config.client_ca_file: set, but client_auth_type is NoClientCert',
      ),
      expect.stringContaining('tls_server_config.min_version: allowed: TLS10, TLS11, TLS12, TLS13'),
    ]);
    const g = file('policy2.yml', [
      'tls_server_config:',
      `  cert_file: ${pki.serverCert}`,
      `  key_file: ${pki.serverKey}`,
      '  client_auth_type: RequireAndVerifyClientCert',
    ]);
    expect(problems(g)).toEqual([
      expect.stringContaining(
        'tls_server_config.client_auth_type: RequireAndVerifyClientCert needs client_ca_file',
      ),
    ]);
  });

  it('allows only TLS on the webhook listener', () => {
    const f = file('webhook.yml', [
      'tls_server_config:',
      `  cert_file: ${pki.serverCert}`,
      `  key_file: ${pki.serverKey}`,
      `  client_ca_file: ${pki.caCert}`,
      '  client_auth_type: RequireAndVerifyClientCert',
      'basic_auth_users:',
      `  nylas: ${bcryptHash(PASSWORD)}`,
    ]);
    expect(problems(f, 'tls')).toEqual([
      expect.stringContaining('tls_server_config.client_ca_file: not supported on this listener'),
      expect.stringContaining('tls_server_config.client_auth_type: not supported on this listener'),
      expect.stringContaining(
        'basic_auth_users: not supported on this listener (Nylas cannot send basic auth)',
      ),
    ]);
  });
});

describe('nylas-sidecar --check-config with web config files', () => {
  it('prints one line per problem, naming the setting, and exits 1', () => {
    const admin = file('check-admin.yml', [
      'tls_server_config:',
      `  cert_file: ${pki.serverCert}`,
      `  key_file: ${pki.strangerKey}`,
      'basic_auth_users:',
      `  prometheus: ${PASSWORD}`,
    ]);
    const webhook = file('check-webhook.yml', ['basic_auth_users: {}']);
    const r = run({
      SIDECAR_ADMIN_WEB_CONFIG: admin,
      SIDECAR_WEBHOOK_WEB_CONFIG: webhook,
      SIDECAR_WEBHOOK_LISTEN: '127.0.0.1:0',
      SIDECAR_WEBHOOK_FORWARD_URL: 'http://127.0.0.1:1/hooks',
    });
    expect(r.code).toBe(1);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('  - '));
    expect(lines).toEqual([
      expect.stringMatching(
        /^ {2}- SIDECAR_ADMIN_WEB_CONFIG=".*": tls_server_config\.key_file: the key in .* does not match/,
      ),
      expect.stringMatching(
        /^ {2}- SIDECAR_ADMIN_WEB_CONFIG=".*": basic_auth_users\.prometheus: not a bcrypt hash/,
      ),
      expect.stringMatching(
        /^ {2}- SIDECAR_WEBHOOK_WEB_CONFIG=".*": basic_auth_users: not supported on this listener/,
      ),
    ]);
    expect(r.stderr).not.toContain(PASSWORD);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
  });

  it('names a web config file that cannot be read', () => {
    const r = run({ SIDECAR_ADMIN_WEB_CONFIG: join(pki.dir, 'nowhere.yml') });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `SIDECAR_ADMIN_WEB_CONFIG="${join(pki.dir, 'nowhere.yml')}": cannot read "${join(pki.dir, 'nowhere.yml')}" (ENOENT)`,
    );
  });

  it('accepts a good file', () => {
    const good = file('check-good.yml', [
      'tls_server_config:',
      `  cert_file: ${pki.serverCert}`,
      `  key_file: ${pki.serverKey}`,
      'basic_auth_users:',
      `  prometheus: ${bcryptHash(PASSWORD)}`,
    ]);
    const r = run({ SIDECAR_ADMIN_WEB_CONFIG: good });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});
