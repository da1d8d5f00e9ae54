// Notification channels: Google Pub/Sub and Amazon SNS (GET /v3/channels/pubsub|sns). Same
// payloads as webhooks, delivered to a topic; a status like a webhook destination's.
import type { SimContext } from './context.js';
import type { Exchange } from './http.js';
import { sendJson, sendNylasError } from './http.js';
import { seededUuid } from './random.js';
import type { WebhookStatus } from './state.js';

export type ChannelType = 'pubsub' | 'sns';
export const CHANNEL_TYPES: readonly ChannelType[] = ['pubsub', 'sns'];

export interface Channel {
  id: string;
  type: ChannelType;
  description: string;
  trigger_types: string[];
  topic: string;
  status: WebhookStatus;
  /** Unix seconds the status last changed (the docs do not list it for channels; sent anyway). */
  status_updated_at: number;
  notification_email_addresses: string[];
  compressed_delivery: boolean;
}

/** One Pub/Sub and one SNS channel, both active. */
export function seedChannels(seed: number, nowSec: number): Map<string, Channel> {
  const defs: Array<[ChannelType, string, string]> = [
    ['pubsub', 'Analytics pipeline', 'projects/example-project/topics/nylas-notifications'],
    ['sns', 'Audit trail', 'arn:aws:sns:us-east-1:000000000000:nylas-notifications'],
  ];
  const map = new Map<string, Channel>();
  defs.forEach(([type, description, topic], k) => {
    const id = seededUuid(seed, 70, k, 'a');
    map.set(id, {
      id,
      type,
      description,
      trigger_types: ['message.created', 'grant.expired'],
      topic,
      status: 'active',
      status_updated_at: nowSec - 86_400 * 7,
      notification_email_addresses: ['oncall@example.com'],
      compressed_delivery: false,
    });
  });
  return map;
}

/** The public shape of a channel. */
export function channelView(c: Channel): Record<string, unknown> {
  const view: Partial<Channel> = { ...c };
  delete view.type;
  return view;
}

/** Routes GET /v3/channels/{pubsub|sns} and /v3/channels/{type}/{id}. */
export function handleChannels(ctx: SimContext, x: Exchange): void {
  const [, , type, id] = x.parts;
  if (type !== 'pubsub' && type !== 'sns')
    return sendNylasError(x, 404, 'not_found_error', 'route not found');
  if (x.req.method !== 'GET')
    return sendNylasError(x, 405, 'invalid_request_error', 'method not allowed');
  const ofType = [...ctx.channels.values()].filter((c) => c.type === type);
  if (id === undefined)
    return sendJson(x.res, 200, { request_id: x.requestId, data: ofType.map(channelView) });
  const c = ofType.find((ch) => ch.id === id);
  if (!c) return sendNylasError(x, 404, 'not_found_error', 'channel not found');
  return sendJson(x.res, 200, { request_id: x.requestId, data: channelView(c) });
}
