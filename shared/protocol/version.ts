// Protocol versions. The agent link negotiates within a range so a hub can be upgraded before its stations.
export const LINK_PROTOCOL = { min: 1, max: 1 } as const;
export const DASHBOARD_PROTOCOL = 1;
