/**
 * The methods each route template has, as Nylas's API reference documents them.
 * A request whose method its route does not have is labelled route="other": the route × method
 * product is what multiplies series (every template with every
 * method is tens of thousands), and such a request is not a Nylas API call
 * anyway (Nylas answers 404 or 405). HEAD goes wherever GET does.
 *
 * Templates not listed take the REST shape Nylas follows: a collection (ends in a literal) has
 * GET and POST, an item (ends in a parameter) GET, PUT, PATCH and DELETE.
 */
const LISTED: Readonly<Record<string, string>> = {
  // v3 grants, auth, admin
  '/v3/grants': 'GET',
  '/v3/grants/me': 'GET',
  '/v3/grants/{grant_id}': 'GET PATCH DELETE',
  '/v3/connect/auth': 'GET',
  '/v3/connect/token': 'POST',
  '/v3/connect/revoke': 'POST',
  '/v3/connect/tokeninfo': 'GET',
  '/v3/connect/custom': 'POST',
  '/v3/providers/detect': 'POST',
  '/v3/applications': 'GET PATCH',
  '/v3/applications/redirect-uris/{id}': 'GET PATCH DELETE',
  '/v3/connectors/{provider}': 'GET PATCH DELETE',
  '/v3/connectors/{provider}/creds/{id}': 'GET PATCH DELETE',
  '/v3/admin/applications/{application_id}/api-keys/{api_key_id}': 'GET DELETE',
  '/v3/admin/domains/{domain_id}': 'GET PUT DELETE',
  '/v3/admin/domains/{domain_id}/info': 'POST',
  '/v3/admin/domains/{domain_id}/verify': 'POST',
  '/v3/workspaces/{workspace_id}': 'GET PATCH DELETE',
  '/v3/workspaces/auto-group': 'POST',
  '/v3/workspaces/{workspace_id}/manual-assign': 'POST',
  '/v3/grants/{grant_id}/rule-evaluations': 'GET',
  '/v3/lists/{list_id}/items': 'GET POST DELETE',
  // v3 notifications
  '/v3/webhooks/rotate-secret/{webhook_id}': 'POST',
  '/v3/webhooks/{webhook_id}/rotate-secret': 'POST',
  '/v3/webhooks/mock-payload': 'POST',
  '/v3/webhooks/send-test-event': 'POST',
  '/v3/webhooks/ip-addresses': 'GET',
  // v3 email
  '/v3/grants/{grant_id}/messages': 'GET',
  '/v3/grants/{grant_id}/messages/send': 'POST',
  '/v3/grants/{grant_id}/messages/clean': 'PUT',
  '/v3/grants/{grant_id}/messages/schedules': 'GET',
  '/v3/grants/{grant_id}/messages/schedules/{schedule_id}': 'GET DELETE',
  '/v3/grants/{grant_id}/messages/smart-compose': 'POST',
  '/v3/grants/{grant_id}/messages/{message_id}/smart-compose': 'POST',
  '/v3/domains/{domain_name}/messages/send': 'POST',
  '/v3/grants/{grant_id}/drafts/{draft_id}': 'GET PUT PATCH DELETE POST',
  '/v3/grants/{grant_id}/threads': 'GET',
  '/v3/grants/{grant_id}/attachments/{attachment_id}': 'GET',
  '/v3/grants/{grant_id}/attachments/{attachment_id}/download': 'GET',
  '/v3/grants/{grant_id}/attachment-uploads': 'POST',
  '/v3/grants/{grant_id}/attachment-uploads/{attachment_id}/complete': 'POST',
  '/v3/templates/render': 'POST',
  '/v3/templates/{template_id}/render': 'POST',
  '/v3/grants/{grant_id}/templates/render': 'POST',
  '/v3/grants/{grant_id}/templates/{template_id}/render': 'POST',
  // v3 calendar, contacts
  '/v3/grants/{grant_id}/calendars/free-busy': 'POST',
  '/v3/calendars/availability': 'POST',
  '/v3/grants/{grant_id}/events/import': 'GET',
  '/v3/grants/{grant_id}/events/{event_id}/send-rsvp': 'POST',
  '/v3/grants/{grant_id}/resources': 'GET',
  '/v3/grants/{grant_id}/contacts/groups': 'GET',
  // v3 notetaker
  '/v3/grants/{grant_id}/notetakers/{notetaker_id}/cancel': 'DELETE',
  '/v3/grants/{grant_id}/notetakers/{notetaker_id}/leave': 'POST',
  '/v3/grants/{grant_id}/notetakers/{notetaker_id}/media': 'GET',
  '/v3/grants/{grant_id}/notetakers/{notetaker_id}/history': 'GET',
  '/v3/notetakers/{notetaker_id}/cancel': 'DELETE',
  '/v3/notetakers/{notetaker_id}/leave': 'POST',
  '/v3/notetakers/{notetaker_id}/media': 'GET',
  '/v3/notetakers/{notetaker_id}/history': 'GET',
  // v3 scheduler
  '/v3/grants/{grant_id}/scheduling/configurations/{configuration_id}/group-events/{event_id}':
    'PUT DELETE',
  '/v3/scheduling/configurations/{configuration_id}/import-group-events': 'POST',
  '/v3/scheduling/configurations/{configuration_id}/group-events/validate-timeslot': 'POST',
  '/v3/scheduling/sessions': 'POST',
  '/v3/scheduling/sessions/{session_id}': 'DELETE',
  '/v3/scheduling/availability': 'GET',
  '/v3/scheduling/bookings': 'POST',
  '/v3/scheduling/should-redirect/{v2_scheduler_slug}': 'GET',
  // v3 migration tools
  '/v3/migration-tools/link-v2v3-apps': 'POST',
  '/v3/migration-tools/import-v2-app': 'POST',
  '/v3/migration-tools/grants/{account_id}/clone': 'POST',
  '/v3/migration-tools/snapshot-batch-clone': 'POST',
  '/v3/migration-tools/translate': 'POST',
  '/v3/migration-tools/jobs': 'GET',
  // v2
  '/account': 'GET',
  '/messages': 'GET',
  '/messages/search': 'GET',
  '/threads': 'GET',
  '/threads/search': 'GET',
  '/send': 'POST',
  '/files/{id}/download': 'GET',
  '/calendars/free-busy': 'POST',
  '/calendars/availability': 'POST',
  '/calendars/availability/consecutive': 'POST',
  '/events/to-ics': 'POST',
  '/send-rsvp': 'POST',
  '/contacts/groups': 'GET',
  '/resources': 'GET',
  '/job-statuses': 'GET',
  '/job-statuses/{id}': 'GET',
  '/neural/{feature}': 'PUT',
  '/delta': 'GET',
  '/delta/latest_cursor': 'POST',
  '/delta/longpoll': 'GET',
  '/delta/streaming': 'GET',
  '/oauth/authorize': 'GET',
  '/oauth/token': 'POST',
  '/oauth/revoke': 'POST',
  '/connect/authorize': 'POST',
  '/connect/token': 'POST',
  '/a/{client_id}': 'GET',
  '/a/{client_id}/accounts': 'GET',
  '/a/{client_id}/accounts/{id}': 'GET PUT DELETE',
  '/a/{client_id}/accounts/{id}/downgrade': 'POST',
  '/a/{client_id}/accounts/{id}/upgrade': 'POST',
  '/a/{client_id}/accounts/{id}/revoke-all': 'POST',
  '/a/{client_id}/accounts/{id}/token-info': 'POST',
  '/a/{client_id}/ip_addresses': 'GET',
};

/** One bit per method the proxy labels by name. */
export const METHOD_BITS: ReadonlyMap<string, number> = new Map([
  ['GET', 1],
  ['HEAD', 2],
  ['POST', 4],
  ['PUT', 8],
  ['PATCH', 16],
  ['DELETE', 32],
  ['OPTIONS', 64],
]);

/** The methods of a template as a mask of METHOD_BITS. */
export function routeMethodMask(template: string): number {
  const listed = LISTED[template];
  const names =
    listed !== undefined
      ? listed.split(' ')
      : template.endsWith('}')
        ? ['GET', 'PUT', 'PATCH', 'DELETE']
        : ['GET', 'POST'];
  let mask = 0;
  for (const n of names) mask |= METHOD_BITS.get(n) ?? 0;
  // HEAD is GET without a body.
  if (mask & 1) mask |= 2;
  return mask;
}

/** Templates with a method list of their own (tests check each is in the route table). */
export const LISTED_TEMPLATES: readonly string[] = Object.keys(LISTED);
