// The hub's in-process event bus: what happened, told to every consumer (the dashboard socket, and next notifications,
// metrics, MQTT) in two steps. `applied`: in memory, at once, so live views never wait for the disk. `committed`:
// durable in SQLite, so what acts on it (a notification, a counter) never acts on what a crash could still undo.
// Listeners are keyed by their owner, so a consumer's stop() removes all of its own, and a failing listener is logged
// and never keeps the event from the others (as Zigbee2MQTT's eventBus does).
import type { Logger } from 'pino';
import type { AgentUpdate, StationEvent, TaskUpdate } from '../../shared/index.js';

export type HubEvent =
  /**
   * A station event as the hub applied it (hub job ids, with the hub's revision, and `stationRev`, its station's own,
   * when applied); progress-only updates are latest-wins.
   */
  | { type: 'station_event'; event: StationEvent; progressOnly: boolean; stationRev?: number }
  /** A station came online or went offline (or was turned away): live state, not stored, so told only as applied. */
  | { type: 'station_state'; update: AgentUpdate; stationRev?: number }
  /** A task of the transcode queue changed (hub/transcodes): the hub's own state, written before it is told. */
  | { type: 'task_update'; update: TaskUpdate };

export type BusPhase = 'applied' | 'committed';

type Listener = (event: HubEvent) => void;

export class EventBus {
  private readonly listeners: Record<BusPhase, Map<string, Listener[]>> = { applied: new Map(), committed: new Map() };

  constructor(private readonly logger: Logger) {}

  on(owner: string, phase: BusPhase, listener: Listener): void {
    const owned = this.listeners[phase].get(owner) ?? [];
    owned.push(listener);
    this.listeners[phase].set(owner, owned);
  }

  /** Removes every listener of `owner`, in both phases. */
  off(owner: string): void {
    for (const phase of Object.values(this.listeners)) phase.delete(owner);
  }

  publish(phase: BusPhase, event: HubEvent): void {
    for (const [owner, listeners] of this.listeners[phase]) {
      for (const listener of listeners) {
        try {
          listener(event);
        } catch (error) {
          this.logger.error({ owner, phase, event: event.type, err: error }, `A consumer of hub events failed (${owner}); the others still get them`);
        }
      }
    }
  }
}
