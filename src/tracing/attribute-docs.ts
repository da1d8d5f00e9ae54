// What each span attribute the sidecar sets means, for the generated reference
// (docs/reference.md). The reference's generator finds the attributes in the sources and fails
// when one has no line here.
export const SPAN_ATTRIBUTE_DOCS: Readonly<Record<string, string>> = {
  'http.request.method': 'The HTTP method (OpenTelemetry semantic convention).',
  'url.template':
    'The Nylas route template the path matched, never the path itself (`other` when none did).',
  'server.address': "The upstream's host (`NYLAS_API_URI`).",
  'server.port': "The upstream's port.",
  'http.response.status_code':
    'The status code the app (or Nylas, for a webhook delivery) was answered.',
  'http.request.resend_count': 'Retries made before this answer (with `SIDECAR_RETRY_MAX`).',
  'nylas.request_id': "Nylas's request id of the answer, to quote in a support ticket.",
  'error.type':
    "Why the request failed, as in `nylas_api_requests_total`'s `error_type` (set on failures only).",
  'nylas.error_type': "Nylas's own `error.type` from the error body, when it is a known spelling.",
  'nylas_sidecar.poller':
    'The poller that ran (`grants`, `grants_census`, `webhooks`, `status_page`, `accounts`).',
  'nylas.webhook.verify':
    'The verification mode the delivery was checked under (`SIDECAR_WEBHOOK_VERIFY`).',
  'nylas.webhook.signature':
    'The signature check: `valid`, `missing`, `not_hex`, `mismatch`, or `not_checked` (`off`).',
  'nylas.webhook.delivery_attempt': "Nylas's delivery attempt number for this notification.",
  'nylas.webhook.trigger': 'The notification type (`message.created`, `grant.expired`, ...).',
  'nylas.webhook.outcome':
    'What the listener did with the delivery: forwarded, bad_signature, duplicate, malformed, forward_failed.',
  'nylas.webhook.notification_id': "The notification's CloudEvent id (at most 128 characters).",
  'nylas.webhook.challenge_outcome':
    'Who answered the `?challenge=` handshake: the app or the sidecar.',
  'nylas.webhook.app_status_class':
    "The status class of the app's answer (`2xx` ... `5xx`, or `error`).",
};
