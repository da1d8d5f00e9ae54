import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { MAIN, startSidecarProcess } from '../helpers/process.js';

/** Runs the built entry point to completion. */
function run(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, [MAIN, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, out: `${r.stdout}\n${r.stderr}` };
}

const CANARY = /C4NARY/;

describe('credentials in what the command prints', () => {
  it('--check-config masks userinfo and query values of every URL setting it rejects', () => {
    const r = run(['--check-config'], {
      NYLAS_API_KEY: 'C4NARY_API_KEY',
      NYLAS_API_URI: 'https://user:C4NARY_PW1@api.us.nylas.com',
      NYLAS_STATUS_PAGE_URL: 'https://status:C4NARY_PW2@status.nylas.com/?token=C4NARY_Q1',
      SIDECAR_WEBHOOK_LISTEN: '127.0.0.1:0',
      SIDECAR_WEBHOOK_FORWARD_URL: 'app:8080/hook?token=C4NARY_Q2',
      SIDECAR_LOG_LEVEL: 'https://u:C4NARY_PW3@x',
    });
    expect(r.code).toBe(1);
    expect(r.out).toContain('4 problem(s)');
    expect(r.out).toContain('NYLAS_API_URI="https://****@api.us.nylas.com"');
    expect(r.out).toContain('SIDECAR_WEBHOOK_FORWARD_URL="app:8080/hook?token=****"');
    expect(r.out).not.toMatch(CANARY);
  });

  it('masks a credential in a "could not start demo mode" message', () => {
    const r = run([], {
      SIDECAR_DEMO_SCENARIO: 'https://u:C4NARY_PW@x/?token=C4NARY_Q',
      SIDECAR_LISTEN: '127.0.0.1:0',
      SIDECAR_ADMIN_LISTEN: '127.0.0.1:0',
    });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(
      /could not start demo mode: unknown demo scenario "https:\/\/\*\*\*\*@x\/\?token=\*\*\*\*"/,
    );
    expect(r.out).not.toMatch(CANARY);
  });

  it('prints no credential of an accepted URL in the banner or the log lines', async () => {
    const proc = await startSidecarProcess({
      NYLAS_API_KEY: 'C4NARY_API_KEY',
      NYLAS_API_URI: 'http://127.0.0.1:9/v3-base?token=C4NARY_Q1',
      NYLAS_STATUS_PAGE_URL: 'http://127.0.0.1:9/?key=C4NARY_Q2',
      SIDECAR_WEBHOOK_LISTEN: '127.0.0.1:0',
      SIDECAR_WEBHOOK_FORWARD_URL: 'http://127.0.0.1:9/hook?token=C4NARY_Q3#sig=C4NARY_F',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otlp:C4NARY_PW4@127.0.0.1:9',
    });
    const code = await proc.stop();
    expect(code).toBe(0);
    const all = [...proc.stdout, ...proc.stderr].join('\n');
    expect(all).toContain('upstream http://127.0.0.1:9');
    expect(all).toContain('traces:   http://****@127.0.0.1:9/v1/traces   (OTLP http/protobuf)');
    expect(all).not.toMatch(CANARY);
  });
});
