/** Where the committed PrometheusRule lives, relative to the repository root. */
export const PROMETHEUS_RULE_FILE: string;
/** The PrometheusRule (monitoring.coreos.com/v1) as YAML text, for the given rule options. */
export function renderPrometheusRule(input?: Record<string, unknown>): string;
