// What agents, the hub and dashboards must agree on: every message shape of the protocol, declared here once, and the
// rules that turn those messages into state (state/rules.ts), which each side that keeps state uses.
export * from './protocol/states.js';
export * from './protocol/fields.js';
export * from './protocol/events.js';
export * from './protocol/link.js';
export * from './protocol/dashboard.js';
export * from './protocol/topics.js';
export * from './protocol/records.js';
export * from './protocol/version.js';
export * from './protocol/decode.js';
export * from './state/rules.js';
