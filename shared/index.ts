// The protocol agents, the hub and dashboards speak: every message shape is declared here once.
export * from './protocol/states.js';
export * from './protocol/fields.js';
export * from './protocol/events.js';
export * from './protocol/link.js';
export * from './protocol/dashboard.js';
export * from './protocol/records.js';
export * from './protocol/version.js';
export * from './protocol/decode.js';
