/** One PromQL expression of a dashboard and where it comes from. */
export interface DashboardQuery {
  where: string;
  panel: string;
  expr: string;
}
export function dashboardQueries(dash: unknown): DashboardQuery[];
export function variableQueries(
  dash: unknown,
): { name: string; text: string; metric: string | undefined; label: string | undefined }[];
export function substitute(
  expr: string,
  vars: Record<string, string>,
  durations?: Record<string, string>,
): string;
export function metricNames(expr: string): Set<string>;
