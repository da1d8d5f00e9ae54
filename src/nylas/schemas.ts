import { z } from 'zod';

// The shapes the pollers read, parsed at the boundary. z.object drops every key not named here,
// so emails, names and tokens in the upstream JSON never reach the rest of the sidecar. Fields
// that only feed labels are tolerant (`catch`): one odd value must not fail a 50,000-grant poll.

const optionalString = z.string().nullish().catch(undefined);
const optionalNumber = z.number().nullish().catch(undefined);

/** An array whose malformed items are dropped one by one instead of failing the whole answer. */
function tolerantArray<T extends z.ZodType>(item: T) {
  return z
    .array(z.unknown())
    .catch([])
    .default([])
    .transform((items) =>
      items.flatMap((i) => {
        const r = item.safeParse(i);
        return r.success ? [r.data] : [];
      }),
    );
}

/** One grant, as `GET /v3/grants` lists it (only what the pollers use). */
export const grantSchema = z.object({
  id: z.string().min(1),
  provider: z.string().catch('unknown').default('unknown'),
  grant_status: z.string().catch('unknown').default('unknown'),
  updated_at: optionalNumber,
});
export type Grant = z.output<typeof grantSchema>;

/** `GET /v3/grants`: limit/offset pagination, not cursors. */
export const grantListSchema = z.object({
  request_id: optionalString,
  data: z.array(grantSchema),
});

/** `GET /v3/grants/{grant_id}`. */
export const grantGetSchema = z.object({ request_id: optionalString, data: grantSchema });

/** One v3 webhook destination. `webhook_secret` is deliberately not read. */
export const webhookSchema = z.object({
  id: z.string().min(1),
  description: optionalString,
  webhook_url: optionalString,
  status: z.string().catch('unknown').default('unknown'),
  status_updated_at: optionalNumber,
  trigger_types: z.array(z.string()).catch([]).default([]),
});
export type Webhook = z.output<typeof webhookSchema>;

/** `GET /v3/webhooks` (may carry next_cursor, though Nylas does not document paging here). */
export const webhookListSchema = z.object({
  request_id: optionalString,
  data: z.array(webhookSchema),
  next_cursor: optionalString,
});

/**
 * One notification channel (`GET /v3/channels/pubsub` or `/v3/channels/sns`). The topic is not
 * read: an SNS ARN names the AWS account. `status_updated_at` is not in the channel docs; it is
 * read when present.
 */
export const channelSchema = z.object({
  id: z.string().min(1),
  description: optionalString,
  status: z.string().catch('unknown').default('unknown'),
  status_updated_at: optionalNumber,
  trigger_types: z.array(z.string()).catch([]).default([]),
});
export type NotificationChannel = z.output<typeof channelSchema>;
export const channelListSchema = z.object({
  request_id: optionalString,
  data: z.array(channelSchema),
});

/** One v2 webhook: `GET /a/{client_id}/webhooks` returns a bare array of these. */
export const v2WebhookSchema = z.object({
  id: z.string().min(1),
  callback_url: optionalString,
  state: z.string().catch('unknown').default('unknown'),
  triggers: z.array(z.string()).catch([]).default([]),
});
export type V2Webhook = z.output<typeof v2WebhookSchema>;
export const v2WebhookListSchema = z.array(v2WebhookSchema);

/** One v2 management account: `GET /a/{client_id}/accounts` returns a bare array of these. */
export const v2AccountSchema = z.object({
  id: z.string().min(1),
  provider: z.string().catch('unknown').default('unknown'),
  sync_state: z.string().catch('unknown').default('unknown'),
  billing_state: optionalString,
});
export type V2Account = z.output<typeof v2AccountSchema>;
export const v2AccountListSchema = z.array(v2AccountSchema);

/** Answers to downgrade/upgrade: `{"success": true}` per the v2 SDK; the body is not relied on. */
export const v2ActionSchema = z.unknown();

/** Atlassian Statuspage `GET /api/v2/summary.json`. */
export const statusSummarySchema = z.object({
  page: z
    .object({ name: optionalString, url: optionalString, updated_at: optionalString })
    .nullish()
    .catch(undefined),
  // Required: an answer without `status` is not a Statuspage summary (a captive portal, a wrong URL).
  status: z.object({ indicator: z.string().catch('unknown'), description: optionalString }),
  components: tolerantArray(
    z.object({
      id: optionalString,
      name: z.string(),
      status: z.string().catch('unknown'),
      group: z.boolean().nullish().catch(undefined),
      group_id: optionalString,
    }),
  ),
  incidents: tolerantArray(
    z.object({
      id: z.string(),
      name: z.string().catch(''),
      status: z.string().catch('unknown'),
      impact: z.string().catch('unknown'),
      created_at: optionalString,
      updated_at: optionalString,
      shortlink: optionalString,
    }),
  ),
  scheduled_maintenances: tolerantArray(
    z.object({
      id: z.string(),
      name: z.string().catch(''),
      status: z.string().catch('unknown'),
      scheduled_for: optionalString,
      scheduled_until: optionalString,
    }),
  ),
});
export type StatusSummary = z.output<typeof statusSummarySchema>;
