// Protocol versions. The agent link negotiates within a range so a hub can be upgraded before its stations.
// Link 2: durable sequence numbers with replay and acknowledgements, latest-wins progress.
export const LINK_PROTOCOL = { min: 2, max: 2 } as const;
// Dashboard 2: every event carries the hub's revision.
export const DASHBOARD_PROTOCOL = 2;
