// Protocol versions. The agent link negotiates within a range so a hub can be upgraded before its stations.
// Link 2: durable sequence numbers with replay and acknowledgements, latest-wins progress.
export const LINK_PROTOCOL = { min: 2, max: 2 } as const;
// Dashboard 2: every event carries the hub's revision. Dashboard 3: topics, commands with replies, ping, snapshot,
// and revisions per station. The hello names 2 (what a silent client gets) and lists both.
export const DASHBOARD_PROTOCOL = 2;
export const DASHBOARD_PROTOCOLS = [2, 3] as const;
