// The alerting parts end-to-end tests run: the generated rules with test timing and the
// committed Alertmanager example (alerts/alertmanager.yml), both as the repository makes them.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';

const ROOT = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);

/**
 * Runs the rules generator with `--test-timing` (windows and `for` shortened) and any other
 * flags (e.g. `--cluster-label cluster`) into `dir`; returns the rule file's path.
 */
export async function generateTestRules(dir: string, flags: string[] = []): Promise<string> {
  await run('node', [
    join(ROOT, 'scripts', 'alerts', 'generate.mjs'),
    ...flags,
    '--test-timing',
    '--out',
    dir,
  ]);
  return join(dir, 'nylas-sidecar.rules.yml');
}

interface AmRoute {
  group_wait?: string;
  group_interval?: string;
  repeat_interval?: string;
  routes?: AmRoute[];
}

/** The host the committed example sends its webhooks to, for tests to replace. */
const PLACEHOLDER = 'https://alerts.example.invalid';

/**
 * The committed example, as `alertmanager.config` for startStack: its webhooks pointed at the
 * test's receiver and its waits shortened to 1 s (repeats to 1 h), so that a test sees each
 * notification soon. Its routes, matchers and receivers stay as committed.
 */
export async function committedAlertmanagerConfig(): Promise<(receiverUrl: string) => unknown> {
  const file = join(ROOT, 'alerts', 'alertmanager.yml');
  const cfg = parse(await readFile(file, 'utf8')) as {
    route: AmRoute;
    receivers: Array<{ webhook_configs?: Array<{ url: string }> }>;
  };
  return (receiverUrl) => {
    const fast = (r: AmRoute) => {
      if (r.group_wait) r.group_wait = '1s';
      if (r.group_interval) r.group_interval = '1s';
      if (r.repeat_interval) r.repeat_interval = '1h';
      r.routes?.forEach(fast);
    };
    fast(cfg.route);
    for (const r of cfg.receivers)
      for (const w of r.webhook_configs ?? []) w.url = w.url.replace(PLACEHOLDER, receiverUrl);
    return cfg;
  };
}
