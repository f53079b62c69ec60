// Protocol versions. The agent link negotiates within a range so a hub can be upgraded before its stations.
// Link 2: durable sequence numbers with replay and acknowledgements, latest-wins progress.
// Link 3: the transcode farm (transcode_request events, task offers, reports and verdicts). The hub still takes
// link-2 stations (it leases them nothing); an agent needs a link-3 hub, since its rips go to the hub's queue.
export const LINK_PROTOCOL = { min: 2, max: 3 } as const;
export const AGENT_LINK_PROTOCOL = { min: 3, max: 3 } as const;
/** The first link version whose stations take transcode tasks. */
export const FARM_LINK_PROTOCOL = 3;
// Dashboard 2: every event carries the hub's revision. Dashboard 3: topics, commands with replies, ping, snapshot,
// and revisions per station. The hello names 2 (what a silent client gets) and lists both.
export const DASHBOARD_PROTOCOL = 2;
export const DASHBOARD_PROTOCOLS = [2, 3] as const;
