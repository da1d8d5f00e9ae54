export { createProxy } from './server.js';
export type { Proxy, ProxyDeps } from './server.js';
export { createRouteMatcher, allRouteLabels } from './routes.js';
export type { RouteMatch } from './routes.js';
export { classifyUpstreamError, classifyErrorBody, KNOWN_ERROR_TYPES } from './classify.js';
export { RecentErrors } from './recent-errors.js';
