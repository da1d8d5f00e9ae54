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
  /** Unix seconds in this status: statusUpdatedAt, or when this process first saw the status. */
  statusSince: number;
  /** Unix seconds Nylas will mark it failed if deliveries do not recover (failing only). */
  markedFailedAt: number | undefined;
  triggerCount: number;
}

/** One Pub/Sub or SNS channel as /status shows it: never the topic. */
export interface ChannelView {
  id: string;
  type: 'pubsub' | 'sns';
  description: string;
  status: WebhookStatus;
  rawStatus: string;
  statusUpdatedAt: number | undefined;
  statusSince: number;
  markedFailedAt: number | undefined;
  triggerCount: number;
}

export interface WebhooksSnapshot {
  at: number;
  destinations: WebhookDestination[];
  channels: ChannelView[];
}

/**
 * Nylas marks a destination `failed` after 72 hours `failing` (Nylas's webhook docs),
 * then stops sending and never resumes on its own. Channels are assumed to share the
 * lifecycle: the channel docs name a status and failure e-mails, not the thresholds.
 */
export const FAILING_TO_FAILED_SECONDS = 72 * 3600;

/** When a failing destination or channel will be marked failed; undefined in any other status. */
export function markedFailedAt(status: WebhookStatus, since: number): number | undefined {
  return status === 'failing' ? since + FAILING_TO_FAILED_SECONDS : undefined;
}

/** Pages of GET /v3/webhooks followed per run; an app has a handful of destinations. */
const MAX_PAGES = 20;
/** Destinations published as series; far above any real application's count. */
const MAX_DESTINATIONS = 500;

/**
 * Polls the webhook destinations (`GET /v3/webhooks`, and `GET /a/{client_id}/webhooks` when v2
 * credentials are set) into the nylas_webhook_status StateSet and nylas_webhook_info, and the
 * notification channels (`GET /v3/channels/pubsub`, `/v3/channels/sns`) into nylas_channel_status
 * and nylas_channel_info; for each, since when it has been in its status.
 */
export function createWebhooksSource(deps: {
  client: NylasClient;
  metrics: Metrics;
  pace: Pacer;
  now: () => number;
}) {
  const { client, metrics, pace, now } = deps;
  let snapshot: WebhooksSnapshot | undefined;
  // When this process first saw each destination's current status, for those Nylas gives no
  // status_updated_at (v2 webhooks, channels when the field is absent).
  const firstSeen = new Map<string, { status: string; at: number }>();
  const sinceOf = (key: string, status: string, told: number | undefined): number => {
    if (told !== undefined) return told;
    const seen = firstSeen.get(key);
    if (seen?.status === status) return seen.at;
    const at = Math.floor(now() / 1000);
    firstSeen.set(key, { status, at });
    return at;
  };

  const source: PollSource = {
    name: 'webhooks',
    async run(signal) {
      const out: WebhookDestination[] = [];
      if (client.hasApiKey) {
        let token: string | undefined;
        for (let page = 0; page < MAX_PAGES; page++) {
          const pageToken = token;
          const res = await pace.call(() => client.listWebhooks(signal, pageToken), signal);
          for (const w of res.webhooks) {
            const status = webhookStatus(w.status);
            const since = sinceOf(`v3/${w.id}`, status, w.status_updated_at ?? undefined);
            out.push({
              id: w.id,
              api: 'v3',
              description: shortText(w.description),
              urlHost: urlHost(w.webhook_url),
              status,
              rawStatus: shortText(w.status, 40),
              statusUpdatedAt: w.status_updated_at ?? undefined,
              statusSince: since,
              markedFailedAt: markedFailedAt(status, since),
              triggerCount: w.trigger_types.length,
            });
          }
          token = res.nextCursor;
          if (!token) break;
        }
      }
      if (client.hasV2Credentials) {
        // undefined: the host serves no v2 API (a v3 app with v2 credentials for accounts only).
        const v2 = (await pace.call(() => client.listV2Webhooks(signal), signal)) ?? [];
        for (const w of v2) {
          const status = webhookStatus(w.state);
          const since = sinceOf(`v2/${w.id}`, status, undefined);
          out.push({
            id: w.id,
            api: 'v2',
            description: '',
            urlHost: urlHost(w.callback_url),
            status,
            rawStatus: shortText(w.state, 40),
            statusUpdatedAt: undefined,
            statusSince: since,
            // v2 documents 72 h of failures before `failed`, not a `failing` state.
            markedFailedAt: undefined,
            triggerCount: w.triggers.length,
          });
        }
      }
      const channels: ChannelView[] = [];
      if (client.hasApiKey)
        for (const type of ['pubsub', 'sns'] as const) {
          // undefined: this API (region, version) has no such channels.
          const list = (await pace.call(() => client.listChannels(type, signal), signal)) ?? [];
          for (const c of list.slice(0, MAX_DESTINATIONS)) {
            const status = webhookStatus(c.status);
            const since = sinceOf(`${type}/${c.id}`, status, c.status_updated_at ?? undefined);
            channels.push({
              id: c.id,
              type,
              description: shortText(c.description),
              status,
              rawStatus: shortText(c.status, 40),
              statusUpdatedAt: c.status_updated_at ?? undefined,
              statusSince: since,
              markedFailedAt: markedFailedAt(status, since),
              triggerCount: c.trigger_types.length,
            });
          }
        }

      const published = out.slice(0, MAX_DESTINATIONS);
      metrics.webhookStatus.reset();
      metrics.webhookInfo.reset();
      metrics.webhookStatusSince.reset();
      metrics.channelStatus.reset();
      metrics.channelInfo.reset();
      metrics.channelStatusSince.reset();
      for (const c of channels) {
        for (const s of WEBHOOK_STATUSES)
          metrics.channelStatus.set(
            { channel_id: c.id, type: c.type, status: s },
            s === c.status ? 1 : 0,
          );
        metrics.channelInfo.set({ channel_id: c.id, type: c.type, description: c.description }, 1);
        metrics.channelStatusSince.set({ channel_id: c.id, type: c.type }, c.statusSince);
      }
      for (const d of published) {
        metrics.webhookStatusSince.set({ webhook_id: d.id }, d.statusSince);
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
      snapshot = { at: now(), destinations: published, channels };
    },
  };
  return { source, snapshot: () => snapshot };
}
