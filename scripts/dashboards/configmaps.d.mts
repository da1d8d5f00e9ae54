/** Where the committed ConfigMaps live, relative to the repository root. */
export const CONFIGMAPS_FILE: string;
/** A ConfigMap holding one dashboard's JSON text. */
export interface DashboardConfigMap {
  apiVersion: 'v1';
  kind: 'ConfigMap';
  metadata: { name: string; labels: Record<string, string>; annotations: Record<string, string> };
  data: Record<string, string>;
}
/** The ConfigMap objects, one per dashboard, each holding the exact JSON text of its file. */
export function dashboardConfigMaps(files: Record<string, string>): DashboardConfigMap[];
/** The ConfigMaps as one multi-document YAML text, for file name -> dashboard JSON text. */
export function renderDashboardConfigMaps(files: Record<string, string>): string;
