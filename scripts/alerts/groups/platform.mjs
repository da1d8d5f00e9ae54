// The Nylas status page as the pollers read it: open incidents and major outages, for context
// on our own API alerts (Alertmanager inhibits API warnings with them).

/** The rules of this group, built with the shared helpers of `ruleContext` (lib.mjs). */
export function platformRules({ fresh, latched, q, alert }) {
  // ---- Status page --------------------------------------------------------------------------
  // The page-wide indicator also moves for the other region's incidents ("EU | ..." while the
  // sidecar talks to api.us.nylas.com): it counts unless those are the only open incidents.
  const onlyOtherRegion = [
    `unless on (job) (`,
    `  sum by (job) ${fresh('status_page', 'nylas_status_page_other_region_incidents')} > 0`,
    `  and on (job) sum by (job) ${fresh('status_page', 'nylas_status_page_incidents')} == 0`,
    ')',
  ];
  const platform = [
    alert('NylasPlatformIncident', {
      expr: [
        `max by (job) ${fresh('status_page', 'nylas_status_page_indicator')} >= 1`,
        ...onlyOtherRegion,
        'or on (job)',
        `sum by (job) (max by (job, impact) ${fresh('status_page', 'nylas_status_page_incidents')}) > 0`,
        'or',
        latched('NylasPlatformIncident', 'status_page'),
      ].join('\n'),
      for: '2m',
      severity: 'info',
      tier: 4,
      summary: 'The Nylas status page reports an incident.',
      description:
        'The Nylas status page (polled by {{ $labels.job }}) reports an open incident or a degraded component' +
        `{{ range query "max by (incident_id, impact, status) ${q(fresh('status_page', 'nylas_status_page_incident_info'))}" }}; incident ` +
        '{{ .Labels.incident_id }} ({{ .Labels.impact }}, {{ .Labels.status }}){{ end }}.',
      why:
        'Context, not an action: our own API alerts say whether the app is affected. 2 minutes is two polls\n' +
        'agreeing. Alertmanager uses it to mark (inhibit) the warning-level API alerts. Read from the freshest\n' +
        'polling instance (each incident listed once); while no instance polls it stays firing (ALERTS).',
    }),
    alert('NylasPlatformMajorOutage', {
      expr: [
        `max by (job) ${fresh('status_page', 'nylas_status_page_indicator')} >= 2`,
        ...onlyOtherRegion,
        'or on (job)',
        `max by (job) ${fresh('status_page', 'nylas_status_page_component_status', 'status="major_outage"')} == 1`,
        // A major or critical incident of our region counts even while the indicator and every
        // component still read operational (pages post the incident before moving them).
        'or on (job)',
        `sum by (job) (max by (job, impact) ${fresh('status_page', 'nylas_status_page_incidents', 'impact=~"major|critical"')}) > 0`,
        'or',
        latched('NylasPlatformMajorOutage', 'status_page'),
      ].join('\n'),
      for: '2m',
      severity: 'warning',
      tier: 1,
      summary: 'The Nylas status page reports a major outage.',
      description:
        'The Nylas status page (polled by {{ $labels.job }}) reports a major or critical indicator, a component ' +
        'in major outage, or a major or critical incident in our region. Expect the app to be affected; check the ' +
        'API dashboards and tell your users.',
      why:
        'Indicator major/critical, a component in major_outage, or an open major/critical incident of our region\n' +
        '(the indicator can stay "none" under a critical incident): worth a ticket even before our own traffic\n' +
        'shows it (not a page: the API alerts page when the app is actually hurt).',
    }),
  ];
  return platform;
}
