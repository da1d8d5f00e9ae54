// A real Prometheus (and optionally Alertmanager) for tests: Debian's `prometheus` and
// `prometheus-alertmanager` binaries on loopback ports, each in its own temp dir, scraping the
// given targets every second, plus an HTTP server in the test process that receives
// Alertmanager's webhook notifications. Used by the alert end-to-end test and by the
// dashboards test (every panel's query runs against a Prometheus that scraped a real sidecar).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from './process.js';

/** One alert as Alertmanager's webhook delivered it to the test's receiver. */
export interface ReceivedAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  /** Path the notification was POSTed to: tells which Alertmanager receiver routed it. */
  path: string;
  /** Name of the Alertmanager receiver (from the webhook payload). */
  receiver: string;
  /** Time (ms since epoch) the test received it. */
  receivedAt: number;
}

/** One series of an instant query result. */
export interface PromSample {
  labels: Record<string, string>;
  value: number;
}

/** The `data` of a Prometheus query API answer. */
export interface PromQueryData {
  resultType: 'vector' | 'matrix' | 'scalar' | 'string';
  result: unknown;
}

/** An alert as Prometheus's own `/api/v1/alerts` reports it (pending or firing). */
export interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
  activeAt: string;
  value: string;
}

export interface StackOptions {
  /** What Prometheus scrapes: `host:port` or a URL (`http://127.0.0.1:9464/metrics`). */
  scrapeTargets: string[];
  /** Prometheus rule files (absolute paths) to load. */
  ruleFiles?: string[];
  /** Job label of the scrape (default `nylas-sidecar`, the rules' default). */
  job?: string;
  /** Scrape and rule evaluation interval (default `1s`). */
  interval?: string;
  /**
   * Start an Alertmanager that Prometheus sends alerts to. `true` routes every alert to the
   * test's receiver (path `/default`), grouped by alert name, with 1 s waits. An object gives
   * the whole Alertmanager config, built from the receiver's base URL (e.g. the committed
   * `alerts/alertmanager.yml` with its webhook URLs and timings replaced).
   */
  alertmanager?: boolean | { config: (receiverUrl: string) => unknown };
  /** Extra command-line flags for prometheus. */
  prometheusFlags?: string[];
  /**
   * More scrape jobs (`host:port` targets, /metrics), each with its own `job` label: one
   * Prometheus can then compare the same queries over different sets of instances.
   */
  extraJobs?: Array<{ job: string; targets: string[] }>;
  /**
   * How the `scrapeTargets` jobs authenticate, as a PodMonitor's tlsConfig and basicAuth would:
   * the CA that signs the target's certificate, and a basic-auth username and password.
   */
  scrapeAuth?: { caFile?: string; username?: string; password?: string };
  /**
   * `global.external_labels`: what this Prometheus adds to every series it sends on, as each
   * cluster's Prometheus adds `cluster` before writing into a global store.
   */
  externalLabels?: Record<string, string>;
  /**
   * Remote-write URLs (another Prometheus's `/api/v1/write`, started with
   * `--web.enable-remote-write-receiver`), with a short batch deadline so that samples arrive
   * within a second or two.
   */
  remoteWrite?: string[];
}

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Said in the error when the wait times out. */
  message?: string;
}

export interface Stack {
  promUrl: string;
  /** Set when `alertmanager` was requested. */
  amUrl: string | undefined;
  /** Base URL of the webhook receiver (set when `alertmanager` was requested). */
  receiverUrl: string | undefined;
  /** Every alert the receiver got, in arrival order (a live array). */
  alerts: ReceivedAlert[];
  /** Instant query; vector and scalar results as `{labels, value}` (NaN kept as NaN). */
  query(expr: string): Promise<PromSample[]>;
  /** Instant query, the API's raw `data` (for matrix or string results). */
  queryRaw(expr: string): Promise<PromQueryData>;
  /** Prometheus's pending and firing alerts. */
  promAlerts(): Promise<PromAlert[]>;
  /**
   * Waits until Prometheus has evaluated every rule group `n` more times: "still quiet after a
   * few evaluations" judged by the evaluations themselves, not by the clock.
   */
  waitForEvaluations(n?: number, w?: WaitOptions): Promise<void>;
  /** Polls `fn` until it returns something other than undefined/null/false; returns it. */
  waitFor<T>(
    fn: () => T | Promise<T>,
    opts?: WaitOptions,
  ): Promise<Exclude<T, undefined | null | false>>;
  /** Waits until every target has been scraped successfully (`up == 1`). */
  waitForScrape(opts?: WaitOptions): Promise<void>;
  /** Waits until the receiver got a firing alert with this name (and these labels). */
  waitForAlert(
    alertname: string,
    labels?: Record<string, string>,
    opts?: WaitOptions,
  ): Promise<ReceivedAlert>;
  /** Waits until Prometheus itself has a firing alert with this name (and these labels). */
  waitForPromAlert(
    alertname: string,
    labels?: Record<string, string>,
    opts?: WaitOptions,
  ): Promise<PromAlert>;
  /** Stops both processes and the receiver, removes the temp dirs. Idempotent. */
  stop(): Promise<void>;
}

/** An alert with this name and (at least) these labels. */
function hasLabels(
  alert: { labels: Record<string, string> },
  alertname: string,
  labels: Record<string, string>,
): boolean {
  return (
    alert.labels.alertname === alertname &&
    Object.entries(labels).every(([k, v]) => alert.labels[k] === v)
  );
}

function parseTarget(t: string): { address: string; path: string; scheme: string } {
  if (!/^[a-z]+:\/\//i.test(t)) return { address: t, path: '/metrics', scheme: 'http' };
  const u = new URL(t);
  return {
    address: u.host,
    path: u.pathname === '/' ? '/metrics' : u.pathname,
    scheme: u.protocol.replace(':', ''),
  };
}

async function waitFor<T>(
  fn: () => T | Promise<T>,
  opts: WaitOptions = {},
): Promise<Exclude<T, undefined | null | false>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let lastError: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== null && v !== false)
        return v as Exclude<T, undefined | null | false>;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out waiting: ${opts.message ?? 'condition'}${why}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 250));
  }
}

interface Proc {
  child: ChildProcess;
  output: string[];
}

function startProcess(bin: string, args: string[], cwd: string): Proc {
  const child = spawn(bin, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const keep = (b: Buffer) => {
    output.push(b.toString());
    if (output.length > 200) output.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, output };
}

async function stopProcess(p: Proc | undefined): Promise<void> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => p.child.once('exit', () => resolve()));
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

async function waitReady(url: string, p: Proc, name: string): Promise<void> {
  await waitFor(
    async () => {
      if (p.child.exitCode !== null) {
        throw new Error(
          `${name} exited with ${p.child.exitCode}: ${p.output.join('').slice(-2000)}`,
        );
      }
      const res = await fetch(`${url}/-/ready`).catch(() => undefined);
      return res?.status === 200;
    },
    { timeoutMs: 30_000, message: `${name} to become ready` },
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${name} output:\n${p.output.join('').slice(-2000)}`);
  });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

interface WebhookPayload {
  receiver?: string;
  alerts?: Array<Omit<ReceivedAlert, 'path' | 'receiver' | 'receivedAt'>>;
}

async function startReceiver(alerts: ReceivedAlert[]): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    readBody(req).then(
      (body) => {
        try {
          const payload = JSON.parse(body) as WebhookPayload;
          for (const a of payload.alerts ?? []) {
            alerts.push({
              ...a,
              path: req.url ?? '/',
              receiver: payload.receiver ?? '',
              receivedAt: Date.now(),
            });
          }
          res.writeHead(200).end('ok');
        } catch {
          res.writeHead(400).end('bad json');
        }
      },
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}` };
}

function defaultAlertmanagerConfig(receiverUrl: string): unknown {
  return {
    route: {
      receiver: 'default',
      group_by: ['alertname'],
      group_wait: '1s',
      group_interval: '1s',
      repeat_interval: '1h',
    },
    receivers: [
      {
        name: 'default',
        webhook_configs: [{ url: `${receiverUrl}/default`, send_resolved: true }],
      },
    ],
  };
}

/**
 * Starts Prometheus (and Alertmanager, and a webhook receiver) for a test. Call `stop()` in
 * afterAll/afterEach: it kills both processes and removes their temp dirs.
 */
export async function startStack(opts: StackOptions): Promise<Stack> {
  const job = opts.job ?? 'nylas-sidecar';
  const interval = opts.interval ?? '1s';
  const alerts: ReceivedAlert[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'nylas-sidecar-stack-'));
  let prom: Proc | undefined;
  let am: Proc | undefined;
  let receiver: { server: Server; url: string } | undefined;
  let stopped = false;

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all([stopProcess(prom), stopProcess(am)]);
    if (receiver) {
      receiver.server.closeAllConnections();
      await new Promise<void>((resolve) => receiver!.server.close(() => resolve()));
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    let amUrl: string | undefined;
    if (opts.alertmanager) {
      receiver = await startReceiver(alerts);
      const build =
        typeof opts.alertmanager === 'object'
          ? opts.alertmanager.config
          : defaultAlertmanagerConfig;
      const amConfig = join(dir, 'alertmanager.yml');
      await writeFile(amConfig, stringify(build(receiver.url)));
      const amPort = await freePort();
      amUrl = `http://127.0.0.1:${amPort}`;
      am = startProcess(
        'prometheus-alertmanager',
        [
          `--config.file=${amConfig}`,
          `--storage.path=${join(dir, 'am-data')}`,
          `--web.listen-address=127.0.0.1:${amPort}`,
          // An empty cluster address turns clustering (and its port 9094) off.
          '--cluster.listen-address=',
          '--log.level=warn',
        ],
        dir,
      );
      await waitReady(amUrl, am, 'alertmanager');
    }

    const byPath = new Map<string, { scheme: string; targets: string[] }>();
    for (const t of opts.scrapeTargets) {
      const { address, path, scheme } = parseTarget(t);
      const key = `${scheme} ${path}`;
      const entry = byPath.get(key) ?? { scheme, targets: [] };
      entry.targets.push(address);
      byPath.set(key, entry);
    }
    const promConfig = {
      global: {
        scrape_interval: interval,
        scrape_timeout: interval,
        evaluation_interval: interval,
        ...(opts.externalLabels ? { external_labels: opts.externalLabels } : {}),
      },
      rule_files: opts.ruleFiles ?? [],
      ...(opts.remoteWrite
        ? {
            remote_write: opts.remoteWrite.map((url) => ({
              url,
              queue_config: { batch_send_deadline: '500ms', min_backoff: '100ms' },
            })),
          }
        : {}),
      scrape_configs: [...byPath.entries()]
        .map(([key, { scheme, targets }], i) => ({
          // Job names must be unique per scrape config; the `job` label stays the same for all.
          job_name: i === 0 ? job : `${job}-${i}`,
          scheme,
          metrics_path: key.slice(scheme.length + 1),
          static_configs: [{ targets, labels: { job } }],
          honor_labels: false,
          ...(opts.scrapeAuth?.caFile ? { tls_config: { ca_file: opts.scrapeAuth.caFile } } : {}),
          ...(opts.scrapeAuth?.username
            ? {
                basic_auth: {
                  username: opts.scrapeAuth.username,
                  password: opts.scrapeAuth.password ?? '',
                },
              }
            : {}),
        }))
        .concat(
          (opts.extraJobs ?? []).map((j) => ({
            job_name: j.job,
            scheme: 'http',
            metrics_path: '/metrics',
            static_configs: [{ targets: j.targets, labels: { job: j.job } }],
            honor_labels: false,
          })),
        ),
      ...(amUrl
        ? {
            alerting: { alertmanagers: [{ static_configs: [{ targets: [new URL(amUrl).host] }] }] },
          }
        : {}),
    };
    const promConfigFile = join(dir, 'prometheus.yml');
    await writeFile(promConfigFile, stringify(promConfig));
    const promPort = await freePort();
    const promUrl = `http://127.0.0.1:${promPort}`;
    prom = startProcess(
      'prometheus',
      [
        `--config.file=${promConfigFile}`,
        `--storage.tsdb.path=${join(dir, 'prom-data')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        // Resend firing alerts every second so Alertmanager hears about them promptly.
        '--rules.alert.resend-delay=1s',
        '--log.level=warn',
        ...(opts.prometheusFlags ?? []),
      ],
      dir,
    );
    await waitReady(promUrl, prom, 'prometheus');

    const queryRaw = async (expr: string): Promise<PromQueryData> => {
      const res = await fetch(`${promUrl}/api/v1/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ query: expr }).toString(),
      });
      const body = (await res.json()) as { status: string; data?: PromQueryData; error?: string };
      if (body.status !== 'success' || !body.data) {
        throw new Error(`query ${JSON.stringify(expr)} failed: ${body.error ?? res.status}`);
      }
      return body.data;
    };

    const query = async (expr: string): Promise<PromSample[]> => {
      const data = await queryRaw(expr);
      if (data.resultType === 'scalar') {
        const [, v] = data.result as [number, string];
        return [{ labels: {}, value: Number(v) }];
      }
      if (data.resultType !== 'vector') {
        throw new Error(
          `query ${JSON.stringify(expr)} returned a ${data.resultType}; use queryRaw`,
        );
      }
      return (
        data.result as Array<{ metric: Record<string, string>; value: [number, string] }>
      ).map((r) => ({ labels: r.metric, value: Number(r.value[1]) }));
    };

    const promAlerts = async (): Promise<PromAlert[]> => {
      const res = await fetch(`${promUrl}/api/v1/alerts`);
      const body = (await res.json()) as { data: { alerts: PromAlert[] } };
      return body.data.alerts;
    };

    /** The oldest of the rule groups' last evaluations (ms since the epoch; 0 before any). */
    const oldestEvaluation = async (): Promise<number> => {
      const res = await fetch(`${promUrl}/api/v1/rules`);
      const body = (await res.json()) as { data: { groups: Array<{ lastEvaluation: string }> } };
      const times = body.data.groups.map((g) => Date.parse(g.lastEvaluation) || 0);
      return times.length === 0 ? 0 : Math.min(...times);
    };

    return {
      promUrl,
      amUrl,
      receiverUrl: receiver?.url,
      alerts,
      query,
      queryRaw,
      promAlerts,
      waitFor,
      async waitForScrape(w?: WaitOptions) {
        const want = opts.scrapeTargets.length;
        await waitFor(
          async () => {
            const up = await query(`up{job="${job}"} == 1`);
            return up.length >= want;
          },
          { timeoutMs: 30_000, message: `all ${want} target(s) of job ${job} scraped`, ...w },
        );
      },
      async waitForEvaluations(n = 2, w?: WaitOptions) {
        for (let i = 0; i < n; i++) {
          const after = Math.max(Date.now(), await oldestEvaluation());
          await waitFor(async () => (await oldestEvaluation()) > after, {
            timeoutMs: 30_000,
            message: `rule evaluation ${i + 1} of ${n}`,
            ...w,
          });
        }
      },
      waitForAlert(alertname: string, labels: Record<string, string> = {}, w?: WaitOptions) {
        return waitFor(
          () => alerts.find((a) => a.status === 'firing' && hasLabels(a, alertname, labels)),
          { timeoutMs: 60_000, message: `alert ${alertname} at the receiver`, ...w },
        );
      },
      waitForPromAlert(alertname: string, labels: Record<string, string> = {}, w?: WaitOptions) {
        return waitFor(
          async () =>
            (await promAlerts()).find(
              (a) => a.state === 'firing' && hasLabels(a, alertname, labels),
            ),
          { timeoutMs: 60_000, message: `alert ${alertname} firing in Prometheus`, ...w },
        );
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
