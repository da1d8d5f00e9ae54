export { loadConfig, withOverrides, ConfigError, displayValue } from './load.js';
export type { Config, WebhookVerifyMode, LoadOptions, SidecarRole } from './load.js';
export type { ListenAddress } from './schema.js';
export { SECRET_KEYS } from './schema.js';
