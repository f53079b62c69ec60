// The hub's schema, one entry per version. Never edit an entry once released: add a new one.
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE agents (
    agent_id   TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    version    TEXT NOT NULL,
    last_seen  INTEGER NOT NULL,
    last_seq   INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE drives (
    agent_id     TEXT NOT NULL REFERENCES agents(agent_id),
    drive_id     TEXT NOT NULL,
    has_disc     INTEGER NOT NULL,
    volume_label TEXT,
    disc_type    TEXT,
    job_id       INTEGER,
    PRIMARY KEY (agent_id, drive_id)
  );
  CREATE TABLE jobs (
    job_id           INTEGER PRIMARY KEY,
    agent_id         TEXT NOT NULL REFERENCES agents(agent_id),
    agent_job_id     INTEGER NOT NULL,
    drive_id         TEXT,
    volume_label     TEXT,
    disc_type        TEXT,
    state            TEXT NOT NULL,
    progress_percent REAL,
    current_speed    TEXT,
    eta_seconds      INTEGER,
    current_title    INTEGER,
    total_titles     INTEGER,
    error_message    TEXT,
    output_dir       TEXT,
    started_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    finished_at      INTEGER,
    UNIQUE (agent_id, agent_job_id)
  );
  CREATE INDEX jobs_by_agent ON jobs (agent_id, job_id);
  CREATE INDEX jobs_by_state ON jobs (state, job_id);
  CREATE TABLE titles (
    job_id              INTEGER NOT NULL REFERENCES jobs(job_id),
    title_id            INTEGER NOT NULL,
    name                TEXT,
    duration_seconds    INTEGER,
    chapters            INTEGER,
    expected_size_bytes INTEGER,
    selected            INTEGER NOT NULL,
    state               TEXT NOT NULL,
    match_progress      REAL,
    actual_size_bytes   INTEGER,
    output_filename     TEXT,
    error               TEXT,
    PRIMARY KEY (job_id, title_id)
  );
  -- The events that changed state (progress-only updates are folded into the rows above, not kept one by one).
  CREATE TABLE events (
    agent_id TEXT NOT NULL,
    seq      INTEGER NOT NULL,
    at       INTEGER NOT NULL,
    type     TEXT NOT NULL,
    job_id   INTEGER,
    body     TEXT NOT NULL,
    PRIMARY KEY (agent_id, seq)
  );
  CREATE INDEX events_by_job ON events (job_id, seq);
  `,
  `
  ALTER TABLE titles ADD COLUMN source_file TEXT;
  -- JSON array of { kind, language, codec }, as titles_discovered carries it.
  ALTER TABLE titles ADD COLUMN streams TEXT;
  `,
  `
  -- Hub-wide values that must survive restarts, such as the revision dashboards follow.
  CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
  `,
  `
  CREATE TABLE job_logs (
    job_id INTEGER NOT NULL REFERENCES jobs(job_id),
    line   INTEGER NOT NULL,
    at     INTEGER NOT NULL,
    level  TEXT NOT NULL,
    text   TEXT NOT NULL,
    PRIMARY KEY (job_id, line)
  );
  `,
  `
  -- Stations allowed to connect: a hash of each one's token, never the token.
  CREATE TABLE stations (
    agent_id   TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    token_hash BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
  );
  CREATE TABLE secrets (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  `,
  `
  -- An agent whose data folder was wiped starts numbering its events and jobs at 1 again. Its installation id tells
  -- the hub, which then keeps numbering after what it has: hub number = the agent's number + offset.
  ALTER TABLE agents ADD COLUMN instance TEXT;
  ALTER TABLE agents ADD COLUMN seq_offset INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE agents ADD COLUMN job_offset INTEGER NOT NULL DEFAULT 0;
  `,
  `
  -- Data discs: read rate in bytes, the image's checksum, and what could not be read.
  ALTER TABLE jobs ADD COLUMN bytes_per_second INTEGER;
  ALTER TABLE jobs ADD COLUMN sha256 TEXT;
  ALTER TABLE jobs ADD COLUMN unreadable_bytes INTEGER;
  -- The job that last ended on a drive whose disc is still in: the page shows its outcome, not a bare "Disc inserted".
  ALTER TABLE drives ADD COLUMN last_job_id INTEGER;
  `,
  `
  -- A drive fed from a folder of images: the names of those waiting (JSON, the first 100) and how many in all.
  ALTER TABLE drives ADD COLUMN waiting TEXT;
  ALTER TABLE drives ADD COLUMN waiting_count INTEGER;
  `,
  `
  -- Audio CDs: the disc ids computed from the table of contents.
  ALTER TABLE jobs ADD COLUMN musicbrainz_disc_id TEXT;
  ALTER TABLE jobs ADD COLUMN freedb_disc_id TEXT;
  `,
  `
  -- Why a job or title ended badly, for machines (stalled, disc_removed, output_full, tool_missing, unreadable).
  ALTER TABLE jobs ADD COLUMN error_code TEXT;
  ALTER TABLE titles ADD COLUMN error_code TEXT;
  `,
  `
  -- The notifications consumer's outbox: one row per notification and URL, written with the decision to notify and
  -- delivered at least once. id is the same on every attempt; UNIQUE (event, agent_id, subject, url_index) makes a
  -- replayed event (subject: the job, the drive event, the outage) add nothing. state: pending, sent, rejected, expired, dropped.
  CREATE TABLE notification_outbox (
    id              TEXT NOT NULL,
    url_index       INTEGER NOT NULL,
    event           TEXT NOT NULL,
    agent_id        TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    PRIMARY KEY (id, url_index),
    UNIQUE (event, agent_id, subject, url_index)
  );
  CREATE INDEX notification_outbox_due ON notification_outbox (state, next_attempt_at);
  `,
  `
  -- The transcode queue (hub/transcodes/transcode-queue.ts): one task per ripped title that needs transcoding,
  -- leased to one station at a time. lease_id changes with every lease, so a result under an older lease is refused.
  -- UNIQUE (agent_id, job_id, title_id): a replayed enqueue adds nothing.
  CREATE TABLE transcode_tasks (
    id               INTEGER PRIMARY KEY,
    agent_id         TEXT NOT NULL,
    job_id           INTEGER NOT NULL,
    title_id         INTEGER NOT NULL,
    profile          TEXT NOT NULL,
    source           TEXT NOT NULL,
    output           TEXT NOT NULL,
    state            TEXT NOT NULL,
    priority         INTEGER NOT NULL DEFAULT 0,
    attempts         INTEGER NOT NULL DEFAULT 0,
    lease_id         TEXT,
    leased_to        TEXT,
    lease_expires_at INTEGER,
    progress_percent REAL,
    transcoded_by    TEXT,
    last_failed_on   TEXT,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    finished_at      INTEGER,
    UNIQUE (agent_id, job_id, title_id)
  );
  CREATE INDEX transcode_tasks_queued ON transcode_tasks (state, priority DESC, id);
  `,
  `
  -- The transcode farm, second step. root: whether source and output are relative to the shared library or to the
  -- ripping station's output folder; duration_seconds for progress; keep_rip, the ripping station's choice.
  -- lease_id now outlives a lease that ran out, until the next lease: a worker back from a cut link may still
  -- deliver under it while nobody else has the task. delivered_at: when the worker said the done task's result is in
  -- place (the title completes then). titles.transcoded_by: the station that transcoded the title.
  ALTER TABLE transcode_tasks ADD COLUMN root TEXT NOT NULL DEFAULT 'library';
  ALTER TABLE transcode_tasks ADD COLUMN delivered_at INTEGER;
  ALTER TABLE transcode_tasks ADD COLUMN duration_seconds INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE transcode_tasks ADD COLUMN keep_rip INTEGER NOT NULL DEFAULT 1;
  ALTER TABLE titles ADD COLUMN transcoded_by TEXT;
  `,
  `
  -- The transcode farm, streamed: a rip outside any library goes through the hub to a station that cannot reach it.
  -- source_sha256/source_bytes: the rip is in the hub's spool, whole and checked. streamed: the newest lease streams
  -- (its worker fetches the rip and uploads the result); result_sha256/result_bytes: that lease's result is in the
  -- spool, for the ripping station to fetch and put in place.
  ALTER TABLE transcode_tasks ADD COLUMN source_sha256 TEXT;
  ALTER TABLE transcode_tasks ADD COLUMN source_bytes INTEGER;
  ALTER TABLE transcode_tasks ADD COLUMN streamed INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE transcode_tasks ADD COLUMN result_sha256 TEXT;
  ALTER TABLE transcode_tasks ADD COLUMN result_bytes INTEGER;
  `,
];
