// What the page asks the hub over the dashboard socket and waits for (protocol 3): the snapshot a render starts
// from, and commands, each answered by its own id with the hub's result or its sentence ("Drive is busy"). A request
// that gets no answer in time, or whose socket goes down first, fails with a sentence for people.
import type { DashboardCommand, DashboardMessage, SnapshotFields } from '../../../shared/index.js';
import { RequestError } from './api.js';
import type { Connection } from './connection.js';

/** Commands wait for the station's answer, which the hub gives up on after 10 s. */
const COMMAND_TIMEOUT_MS = 20_000;
const SNAPSHOT_TIMEOUT_MS = 15_000;

interface Waiter<T> {
  resolve(value: T): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

export class SocketRequests {
  private nextId = 1;
  private readonly commands = new Map<string, Waiter<void>>();
  private snapshots: Waiter<SnapshotFields>[] = [];

  constructor(private readonly connection: Connection) {}

  snapshot(): Promise<SnapshotFields> {
    return new Promise((resolve, reject) => {
      if (!this.connection.send({ type: 'snapshot' })) return reject(notConnected());
      const waiter: Waiter<SnapshotFields> = {
        resolve, reject,
        timer: setTimeout(() => this.settleSnapshots(waiter, new RequestError(0, 'The hub did not answer in time')), SNAPSHOT_TIMEOUT_MS),
      };
      this.snapshots.push(waiter);
    });
  }

  command(fields: Omit<DashboardCommand, 'type' | 'id'>): Promise<void> {
    return new Promise((resolve, reject) => {
      const id = `page-${this.nextId++}`;
      if (!this.connection.send({ type: 'command', id, ...fields })) return reject(notConnected());
      this.commands.set(id, {
        resolve, reject,
        timer: setTimeout(() => this.settleCommand(id, new RequestError(0, 'The hub did not answer in time')), COMMAND_TIMEOUT_MS),
      });
    });
  }

  /** Takes a message that answers a request; returns false for any other. */
  take(message: DashboardMessage): boolean {
    if (message.type === 'snapshot') {
      const { type: _type, ...fields } = message;
      for (const waiter of this.snapshots.splice(0)) {
        clearTimeout(waiter.timer);
        waiter.resolve(fields);
      }
      return true;
    }
    if (message.type === 'reply') {
      // A refusal for want of a session is what makes the page offer to sign in.
      const error = message.error === undefined ? undefined : new RequestError(message.error.startsWith('Sign in') ? 401 : 409, message.error);
      this.settleCommand(message.id, error);
      return true;
    }
    return false;
  }

  /** The socket went down: nothing asked on it will be answered. */
  disconnected(): void {
    const lost = () => new RequestError(0, 'Lost the connection to the hub before it answered');
    for (const id of [...this.commands.keys()]) this.settleCommand(id, lost());
    for (const waiter of [...this.snapshots]) this.settleSnapshots(waiter, lost());
  }

  private settleCommand(id: string, error: Error | undefined): void {
    const waiter = this.commands.get(id);
    if (!waiter) return;
    this.commands.delete(id);
    clearTimeout(waiter.timer);
    if (error) waiter.reject(error);
    else waiter.resolve();
  }

  private settleSnapshots(waiter: Waiter<SnapshotFields>, error: Error): void {
    this.snapshots = this.snapshots.filter((w) => w !== waiter);
    clearTimeout(waiter.timer);
    waiter.reject(error);
  }
}

function notConnected(): RequestError {
  return new RequestError(0, 'Not connected to the hub; try again once the page has reconnected');
}
