/** The dashboards directory of the repository. */
export const DASHBOARDS_DIR: string;
/** File name (in dashboards/) to dashboard JSON text, exactly as committed. */
export function renderDashboards(options?: { clusterLabel?: string }): Record<string, string>;
