// The test harness itself: a real Prometheus scrapes a target, evaluates a rule and sends the
// alert through a real Alertmanager to the receiver in this process.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';

describe('test stack (prometheus + alertmanager + webhook receiver)', () => {
  let target: Server;
  let stack: Stack;
  let dir: string;

  beforeAll(async () => {
    target = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end('# TYPE stack_test_value gauge\nstack_test_value{kind="a"} 42\n');
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', () => r()));
    dir = await mkdtemp(join(tmpdir(), 'stack-test-'));
    const rules = join(dir, 'rules.yml');
    await writeFile(
      rules,
      [
        'groups:',
        '  - name: stack-test',
        '    rules:',
        '      - alert: StackTestAlert',
        '        expr: stack_test_value > 40',
        '        labels: { severity: warning }',
        '        annotations: { summary: "value is {{ $value }}" }',
        '',
      ].join('\n'),
    );
    const { port } = target.address() as AddressInfo;
    stack = await startStack({
      scrapeTargets: [`127.0.0.1:${port}`],
      ruleFiles: [rules],
      alertmanager: true,
    });
  });

  afterAll(async () => {
    await stack?.stop();
    target?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('scrapes the target with the nylas-sidecar job label and answers queries', async () => {
    await stack.waitForScrape();
    const got = await stack.query('stack_test_value');
    expect(got).toEqual([
      {
        labels: expect.objectContaining({
          __name__: 'stack_test_value',
          job: 'nylas-sidecar',
          kind: 'a',
        }),
        value: 42,
      },
    ]);
  });

  it('delivers a firing alert through alertmanager to the receiver', async () => {
    const alert = await stack.waitForAlert('StackTestAlert');
    expect(alert.labels).toMatchObject({ severity: 'warning', kind: 'a', job: 'nylas-sidecar' });
    expect(alert.annotations.summary).toBe('value is 42');
    expect(alert.path).toBe('/default');
  });
});
