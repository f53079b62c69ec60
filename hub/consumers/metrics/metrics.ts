// The hub's Prometheus metrics at GET /metrics: counters of what is durably stored (the bus's `committed` phase, so a
// crash never leaves a counted event unstored), gauges of what is live (the `applied` phase and the hub's stats).
// Labels are stations, drives and fixed vocabularies only, never job ids, disc labels or file names.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { originAllowed } from '../../auth/access.js';
import type { ConsumerFactory, HubConsumer, HubContext } from '../../events/consumer.js';
import type { HubEvent } from '../../events/event-bus.js';
import { happeningsOf } from '../../events/happenings.js';
import { bearerToken } from '../../http/auth.js';
import { DriveStates } from './drive-states.js';

/*
 * The metrics, as exposed (README: copy this list).
 *
 * discbridge_jobs_total{station,disc_type,outcome}    counter    jobs finished; outcome: completed, failed, cancelled, interrupted
 * discbridge_ripped_bytes_total{station}              counter    bytes of the titles that completed
 * discbridge_ripped_media_seconds_total{station}      counter    playing time of the titles that completed
 * discbridge_rip_duration_seconds                     histogram  a finished job's time from its start to its end (its REST record)
 * discbridge_insert_to_scan_seconds                   histogram  a disc going in to its job's titles being known, as the hub saw them
 * discbridge_events_ingested_total                    counter    station events stored
 * discbridge_store_write_seconds                      histogram  the hub's SQLite write transactions (one per flush)
 * discbridge_drive_state{station,drive,state}         gauge      1 for the drive's current state, 0 for the others; state: empty,
 *                                                                disc, identifying, ready, ripping, transcoding (connected stations)
 * discbridge_job_progress_ratio{station,drive}        gauge      0–1, the running job's progress on that drive
 * discbridge_stations_connected                       gauge      stations connected now
 * discbridge_dashboards_connected                     gauge      dashboards connected now
 * discbridge_dashboards_dropped_total                 counter    dashboards dropped for not keeping up, since the hub started
 * discbridge_station_info{station,version}            gauge      1 per connected station, with the version it runs
 * discbridge_station_outbox_events{station}           gauge      events the station had not yet had acknowledged when it connected
 * discbridge_transcode_tasks{state}                   gauge      tasks of the transcode queue in each state (queued, transcoding, done, failed, cancelled)
 * discbridge_transcode_slots{station}                 gauge      transcodes a connected station runs at once (DISCBRIDGE_TRANSCODE_SLOTS)
 * discbridge_transcodes_running{station}              gauge      transcode tasks leased to the station now
 */

export interface MetricsOptions {
  /** When set, a scraper presents it as `Authorization: Bearer <token>` (a signed-in session also may). */
  token?: string | undefined;
}

const OWNER = 'metrics';
const PATH = '/metrics';

export function metricsConsumer(options: MetricsOptions): ConsumerFactory {
  return (context) => new MetricsConsumer(context, options.token);
}

class MetricsConsumer implements HubConsumer {
  readonly name = OWNER;
  private readonly registry = new Registry();
  private readonly drives = new DriveStates();
  /** Connected stations and the version each runs. */
  private readonly stations = new Map<string, string>();
  /** Hub time (ms) each drive's disc went in, until its job's titles are known. */
  private readonly insertedAt = new Map<string, number>();
  /** Job → the drive key it runs on, until its titles are known. */
  private readonly scanning = new Map<number, string>();
  private readonly jobs: Counter<'station' | 'disc_type' | 'outcome'>;
  private readonly bytes: Counter<'station'>;
  private readonly mediaSeconds: Counter<'station'>;
  private readonly ripDuration: Histogram;
  private readonly insertToScan: Histogram;
  private readonly ingested: Counter;
  private readonly storeWrites: Histogram;
  private stopFlushHook: (() => void) | undefined;

  constructor(private readonly context: HubContext, private readonly token: string | undefined) {
    const registers = [this.registry];
    const { drives, stations } = this;
    this.jobs = new Counter({ name: 'discbridge_jobs_total', help: 'Jobs finished, by station, disc type and outcome', labelNames: ['station', 'disc_type', 'outcome'], registers });
    this.bytes = new Counter({ name: 'discbridge_ripped_bytes_total', help: 'Bytes of the titles ripped completely', labelNames: ['station'], registers });
    this.mediaSeconds = new Counter({ name: 'discbridge_ripped_media_seconds_total', help: 'Playing time of the titles ripped completely', labelNames: ['station'], registers });
    // Rips take minutes to hours; scans seconds to minutes; SQLite batches milliseconds.
    this.ripDuration = new Histogram({ name: 'discbridge_rip_duration_seconds', help: 'Time from a job\'s start to its end', buckets: [60, 300, 600, 1200, 1800, 3600, 5400, 7200, 10800, 14400], registers });
    this.insertToScan = new Histogram({ name: 'discbridge_insert_to_scan_seconds', help: 'Time from a disc going in to its titles being known', buckets: [1, 2, 5, 10, 20, 30, 60, 120, 300, 600], registers });
    this.ingested = new Counter({ name: 'discbridge_events_ingested_total', help: 'Station events stored', registers });
    this.storeWrites = new Histogram({ name: 'discbridge_store_write_seconds', help: 'Duration of the hub database\'s write transactions', buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1], registers });
    // The gauges are read when scraped, from what the applied events and the hub's stats say now.
    new Gauge({
      name: 'discbridge_drive_state', help: 'The drive\'s current state: 1 for it, 0 for the others', labelNames: ['station', 'drive', 'state'], registers,
      collect() {
        this.reset();
        for (const drive of drives.list()) for (const [state, value] of drives.stateValues(drive)) this.set({ station: drive.station, drive: drive.drive, state }, value);
      },
    });
    new Gauge({
      name: 'discbridge_job_progress_ratio', help: 'Progress of the job running on the drive, 0 to 1', labelNames: ['station', 'drive'], registers,
      collect() {
        this.reset();
        for (const drive of drives.list()) if (drive.progress !== undefined) this.set({ station: drive.station, drive: drive.drive }, drive.progress);
      },
    });
    new Gauge({ name: 'discbridge_stations_connected', help: 'Stations connected', registers, collect() { this.set(context.stats().stationsConnected); } });
    new Gauge({ name: 'discbridge_dashboards_connected', help: 'Dashboards connected', registers, collect() { this.set(context.stats().dashboards.clients); } });
    new Counter({
      name: 'discbridge_dashboards_dropped_total', help: 'Dashboards dropped for not keeping up', registers,
      // The dashboard server counts them; a counter has no set(), so it is brought to that count.
      collect() {
        this.reset();
        this.inc(context.stats().dashboards.dropped);
      },
    });
    new Gauge({
      name: 'discbridge_station_info', help: 'A connected station and the version it runs', labelNames: ['station', 'version'], registers,
      collect() {
        this.reset();
        for (const [station, version] of stations) this.set({ station, version }, 1);
      },
    });
    new Gauge({
      name: 'discbridge_station_outbox_events', help: 'Events a connected station had not yet had acknowledged when it said hello', labelNames: ['station'], registers,
      collect() {
        this.reset();
        for (const station of stations.keys()) {
          const outbox = context.store.latestHello(station)?.outbox_events;
          if (outbox !== undefined) this.set({ station }, outbox);
        }
      },
    });
    new Gauge({
      name: 'discbridge_transcode_tasks', help: 'Tasks of the transcode queue in each state', labelNames: ['state'], registers,
      collect() {
        for (const [state, count] of Object.entries(context.stats().transcodes.tasks)) this.set({ state }, count);
      },
    });
    new Gauge({
      name: 'discbridge_transcode_slots', help: 'Transcodes a connected station runs at once', labelNames: ['station'], registers,
      collect() {
        this.reset();
        for (const station of stations.keys()) this.set({ station }, context.store.latestHello(station)?.transcode_slots ?? 0);
      },
    });
    new Gauge({
      name: 'discbridge_transcodes_running', help: 'Transcode tasks leased to the station now', labelNames: ['station'], registers,
      collect() {
        this.reset();
        // Connected stations at 0 too, so a graph of a farm shows its idle workers.
        for (const station of stations.keys()) this.set({ station }, 0);
        for (const [station, running] of context.stats().transcodes.running) this.set({ station }, running);
      },
    });
  }

  start(): void {
    this.context.bus.on(OWNER, 'applied', (event) => this.applied(event));
    this.context.bus.on(OWNER, 'committed', (event) => this.committed(event));
    this.stopFlushHook = this.context.store.onFlush((seconds) => this.storeWrites.observe(seconds));
  }

  stop(): void {
    this.context.bus.off(OWNER);
    this.stopFlushHook?.();
  }

  async handle(request: IncomingMessage, response: ServerResponse): Promise<boolean> {
    if (new URL(request.url ?? '/', 'http://hub').pathname !== PATH) return false;
    const refusal = this.refusal(request);
    if (refusal) {
      if (refusal.status === 401 && this.token !== undefined) response.setHeader('WWW-Authenticate', 'Bearer');
      sendJson(response, refusal.status, { error: refusal.error });
      return true;
    }
    const body = await this.registry.metrics();
    response.writeHead(200, { 'Content-Type': this.registry.contentType, 'Cache-Control': 'no-store' });
    response.end(request.method === 'HEAD' ? undefined : body);
    return true;
  }

  private refusal(request: IncomingMessage): { status: number; error: string } | undefined {
    if (request.method !== 'GET' && request.method !== 'HEAD') return { status: 405, error: 'Use GET here' };
    if (!originAllowed(request)) return { status: 403, error: 'Cross-origin request refused' };
    const { access } = this.context;
    if (this.token === undefined) return access.canView(request) ? undefined : { status: 401, error: 'Sign in to view this hub' };
    // With a token, viewing on the LAN is not enough: the scraper's token, or a signed-in person.
    if (sameSecret(bearerToken(request), this.token) || access.signedIn(request)) return undefined;
    return { status: 401, error: 'The metrics token is required (Authorization: Bearer <token>)' };
  }

  private applied(hubEvent: HubEvent): void {
    for (const happening of happeningsOf(hubEvent)) {
      if (happening.kind === 'station_online') {
        this.stations.set(happening.agentId, happening.version ?? 'unknown');
        this.drives.seed(happening.agentId, this.context.store);
      } else if (happening.kind === 'station_offline') {
        this.stations.delete(happening.agentId);
        this.drives.forget(happening.agentId);
      }
    }
    if (hubEvent.type === 'station_event') this.drives.apply(hubEvent.event);
  }

  private committed(hubEvent: HubEvent): void {
    if (hubEvent.type !== 'station_event') return;
    const { event } = hubEvent;
    this.ingested.inc();
    if (event.type === 'titles_discovered') this.scanned(event.job_id);
    for (const happening of happeningsOf(hubEvent)) {
      switch (happening.kind) {
        case 'disc_inserted':
          this.insertedAt.set(driveKey(happening.agentId, happening.driveId), Date.now());
          break;
        case 'job_started':
          if (happening.driveId !== undefined) this.scanning.set(happening.jobId, driveKey(happening.agentId, happening.driveId));
          break;
        case 'job_finished': {
          this.scanning.delete(happening.jobId);
          const job = this.context.store.getJobRecord(happening.jobId);
          this.jobs.inc({ station: happening.agentId, disc_type: job?.disc_type ?? 'unknown', outcome: happening.outcome });
          if (job?.finished_at !== undefined) this.ripDuration.observe((Date.parse(job.finished_at) - Date.parse(job.started_at)) / 1000);
          break;
        }
        case 'title_finished': {
          if (happening.state !== 'completed') break;
          // The title's final update may leave out what an earlier one (or titles_discovered) said: the record has it all.
          const title = happening.bytes !== undefined && happening.seconds !== undefined ? undefined : this.context.store.getTitle(happening.jobId, happening.titleId);
          const bytes = happening.bytes ?? title?.actual_size_bytes;
          const seconds = happening.seconds ?? title?.duration_seconds;
          if (bytes !== undefined) this.bytes.inc({ station: happening.agentId }, bytes);
          if (seconds !== undefined) this.mediaSeconds.inc({ station: happening.agentId }, seconds);
          break;
        }
        default:
          break;
      }
    }
  }

  /** The first titles_discovered of a job that started on a drive whose disc went in ends that drive's scan time. */
  private scanned(jobId: number): void {
    const drive = this.scanning.get(jobId);
    if (drive === undefined) return;
    this.scanning.delete(jobId);
    const inserted = this.insertedAt.get(drive);
    if (inserted === undefined) return;
    this.insertedAt.delete(drive);
    this.insertToScan.observe((Date.now() - inserted) / 1000);
  }
}

function driveKey(agentId: string, driveId: string): string {
  return `${agentId}\u0000${driveId}`;
}

function sameSecret(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'Content-Type': 'application/json' });
  response.end(JSON.stringify(body));
}
