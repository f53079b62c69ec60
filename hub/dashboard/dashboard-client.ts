// One dashboard connection: the protocol it speaks, the topics it follows, and the progress waiting to be sent to it.
// Progress updates are latest-wins per job and title: one held back (the client is falling behind, or asked for at
// most one per progress_interval_ms) is replaced by a newer one and dropped by a state change, which always goes at once.
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { topicCarries, topicName, type Routed, type Topic } from '../../shared/index.js';

/** A text frame: a broadcast encodes it once, as bytes, for all its clients instead of once per client. */
export type Frame = string | Buffer;

export interface ClientLimits {
  /** Bytes queued beyond which the client gets only the newest progress. */
  softBufferBytes: number;
  /** Bytes queued beyond which it is dropped. */
  hardBufferBytes: number;
  /** How long it may stay past the soft limit before it is dropped. */
  stuckMs: number;
}

export class DashboardClient {
  protocol: 2 | 3 = 2;
  progressIntervalMs = 0;
  /** Set while the client is past the soft limit: since when. */
  private slowSince: number | undefined;
  /** The topics it follows by name; before its first subscribe a protocol-3 client follows `all`. */
  private readonly topics = new Map<string, Topic>();
  private subscribed = false;
  /** The newest progress frame per job or title that is not sent yet. */
  private readonly heldProgress = new Map<string, Frame>();
  /** When each job's or title's progress last went out, while the client limits its rate. */
  private readonly progressSentAt = new Map<string, number>();
  commandsInFlight = 0;

  constructor(
    readonly socket: WebSocket,
    /** The upgrade request: who the client is, for the commands it sends. */
    readonly request: IncomingMessage,
    private readonly limits: ClientLimits,
    private readonly drop: (client: DashboardClient, why: string) => void,
    private readonly logger: Logger,
  ) {}

  get slow(): boolean {
    return this.slowSince !== undefined;
  }

  /** The names of the topics it follows; `all` for a client that never subscribed. */
  topicNames(): string[] {
    return this.subscribed ? [...this.topics.keys()] : ['all'];
  }

  /** How many topics it would follow with `more` added. */
  topicCountWith(more: readonly Topic[]): number {
    return new Set([...(this.subscribed ? this.topics.keys() : []), ...more.map(topicName)]).size;
  }

  subscribe(topics: readonly Topic[]): void {
    this.subscribed = true;
    for (const topic of topics) this.topics.set(topicName(topic), topic);
  }

  unsubscribe(topics: readonly Topic[]): void {
    if (!this.subscribed) {
      // Leaving `all`, the implicit default, leaves nothing; leaving anything else keeps `all`.
      this.subscribed = topics.some((topic) => topic.kind === 'all');
      return;
    }
    for (const topic of topics) this.topics.delete(topicName(topic));
  }

  /** The stations it follows all of, or some drive of: undefined when it follows every station. */
  stations(): ReadonlySet<string> | undefined {
    if (!this.subscribed) return undefined;
    const stations = new Set<string>();
    for (const topic of this.topics.values()) {
      if (topic.kind === 'all' || topic.kind === 'jobs') return undefined;
      if (topic.kind === 'station' || topic.kind === 'drive') stations.add(topic.agentId);
    }
    return stations;
  }

  /** Whether this client gets a message: a protocol-2 client gets everything, a protocol-3 one its topics' messages. */
  follows(message: Routed, driveOfJob: (jobId: number) => string | undefined): boolean {
    // Protocol 2 keeps the stream it always had: every station event. The queue's tasks came with protocol 3.
    if (this.protocol === 2) return message.type !== 'task_update';
    if (!this.subscribed) return topicCarries({ kind: 'all' }, message, driveOfJob);
    for (const topic of this.topics.values()) if (topicCarries(topic, message, driveOfJob)) return true;
    return false;
  }

  /**
   * Sends a frame, or holds it back when it is progress (`key` names its job or title) and the client is behind or
   * got that job's or title's last progress less than its interval ago.
   */
  deliver(frame: Frame, key: string | undefined, progressOnly: boolean, now: number): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    if (key !== undefined) {
      if (progressOnly) {
        const last = this.progressSentAt.get(key);
        if (this.slow || (last !== undefined && now - last < this.progressIntervalMs)) {
          this.heldProgress.set(key, frame);
          return;
        }
        if (this.progressIntervalMs > 0) this.progressSentAt.set(key, now);
      } else {
        this.heldProgress.delete(key);
      }
    }
    this.send(frame);
  }

  send(frame: Frame): void {
    if (this.socket.bufferedAmount > this.limits.hardBufferBytes) {
      this.drop(this, 'its send buffer passed the hard limit');
      return;
    }
    this.socket.send(frame, { binary: false });
    if (this.slowSince === undefined && this.socket.bufferedAmount > this.limits.softBufferBytes) {
      this.slowSince = Date.now();
      this.logger.info({ buffered: this.socket.bufferedAmount }, 'A dashboard client is falling behind; sending it only the newest progress');
    }
  }

  /** Sends held progress that is due, and drops the client when it has been behind for too long. Returns false once dropped. */
  serveHeld(now: number): boolean {
    if (this.slowSince !== undefined) {
      if (this.socket.bufferedAmount > this.limits.softBufferBytes) {
        if (now - this.slowSince <= this.limits.stuckMs) return true;
        this.drop(this, `it read nothing for ${Math.round(this.limits.stuckMs / 1000)} s`);
        return false;
      }
      this.slowSince = undefined;
    }
    for (const [key, frame] of this.heldProgress) {
      const last = this.progressSentAt.get(key);
      if (last !== undefined && now - last < this.progressIntervalMs) continue;
      this.heldProgress.delete(key);
      if (this.progressIntervalMs > 0) this.progressSentAt.set(key, now);
      this.send(frame);
    }
    // Forget when progress last went out once it no longer holds anything back: the map stays as small as the jobs running.
    for (const [key, at] of this.progressSentAt) if (now - at >= this.progressIntervalMs && !this.heldProgress.has(key)) this.progressSentAt.delete(key);
    return true;
  }

  get holdsProgress(): boolean {
    return this.heldProgress.size > 0 || this.slow;
  }
}
