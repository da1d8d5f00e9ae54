import type { Metrics } from '../metrics/index.js';
import type { NylasClient } from '../nylas/index.js';
import type { PollSource } from './lifecycle.js';
import {
  shortText,
  urlHost,
  webhookStatus,
  WEBHOOK_STATUSES,
  type WebhookStatus,
} from './labels.js';
import type { Pacer } from './pace.js';

/** One webhook destination as /status shows it: host only, never the full URL or the secret. */
export interface WebhookDestination {
  id: string;
  api: 'v3' | 'v2';
  description: string;
  urlHost: string;
  status: WebhookStatus;
  /** The value Nylas sent, when it was not one of the known statuses. */
  rawStatus: string;
  /** Unix seconds (v3 only, when Nylas said). */
  statusUpdatedAt: number | undefined;
  triggerCount: number;
}

export interface WebhooksSnapshot {
  at: number;
  destinations: WebhookDestination[];
}

/** Pages of GET /v3/webhooks followed per run; an app has a handful of destinations. */
const MAX_PAGES = 20;
/** Destinations published as series; far above any real application's count. */
const MAX_DESTINATIONS = 500;

/**
 * Polls the webhook destinations (`GET /v3/webhooks`, and `GET /a/{client_id}/webhooks` when v2
 * credentials are set) into the nylas_webhook_status StateSet and nylas_webhook_info.
 */
export function createWebhooksSource(deps: {
  client: NylasClient;
  metrics: Metrics;
  pace: Pacer;
  now: () => number;
}) {
  const { client, metrics, pace, now } = deps;
  let snapshot: WebhooksSnapshot | undefined;

  const source: PollSource = {
    name: 'webhooks',
    async run(signal) {
      const out: WebhookDestination[] = [];
      if (client.hasApiKey) {
        let token: string | undefined;
        for (let page = 0; page < MAX_PAGES; page++) {
          const pageToken = token;
          const res = await pace.call(() => client.listWebhooks(signal, pageToken), signal);
          for (const w of res.webhooks)
            out.push({
              id: w.id,
              api: 'v3',
              description: shortText(w.description),
              urlHost: urlHost(w.webhook_url),
              status: webhookStatus(w.status),
              rawStatus: shortText(w.status, 40),
              statusUpdatedAt: w.status_updated_at ?? undefined,
              triggerCount: w.trigger_types.length,
            });
          token = res.nextCursor;
          if (!token) break;
        }
      }
      if (client.hasV2Credentials) {
        // undefined: the host serves no v2 API (a v3 app with v2 credentials for accounts only).
        const v2 = (await pace.call(() => client.listV2Webhooks(signal), signal)) ?? [];
        for (const w of v2)
          out.push({
            id: w.id,
            api: 'v2',
            description: '',
            urlHost: urlHost(w.callback_url),
            status: webhookStatus(w.state),
            rawStatus: shortText(w.state, 40),
            statusUpdatedAt: undefined,
            triggerCount: w.triggers.length,
          });
      }

      const published = out.slice(0, MAX_DESTINATIONS);
      metrics.webhookStatus.reset();
      metrics.webhookInfo.reset();
      for (const d of published) {
        for (const s of WEBHOOK_STATUSES)
          metrics.webhookStatus.set({ webhook_id: d.id, status: s }, s === d.status ? 1 : 0);
        metrics.webhookInfo.set(
          { webhook_id: d.id, description: d.description, url_host: d.urlHost },
          1,
        );
      }
      if (out.length > published.length)
        metrics.seriesDropped.inc(
          { metric: 'nylas_webhook_status' },
          out.length - published.length,
        );
      snapshot = { at: now(), destinations: published };
    },
  };
  return { source, snapshot: () => snapshot };
}
