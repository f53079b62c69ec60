// The ripping station's side of a streamed transcode task: when the hub asks, it sends a handed-off rip to the hub
// for a station that cannot reach it; when the result is back at the hub, it fetches it into a part file beside the
// rip, puts it in place once whole and checked, says `delivered`, and on the hub's yes removes the rip unless it is
// kept. Nothing here needs a journal: the hub asks again (at each reconnect, or after a while) until it has heard, a
// fetch cut short goes on from its part file, and a result already in place is recognised by its SHA-256.
import { rm, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Logger } from 'pino';
import { TASK_FILES_PATH, type ResultReady, type SourceUnavailable, type SourceWanted, type TaskReport, type TaskVerdict } from '../../shared/index.js';
import { hashFile } from '../../shared/files/hash-file.js';
import { PARTIAL_SUFFIX, finishPartial } from '../../shared/files/partial-file.js';
import { RipError } from '../tools/rip-error.js';
import type { HubFiles } from './hub-files.js';
import { taskFile } from './library.js';

export interface RipExchangeOptions {
  files: HubFiles;
  outputDir: string;
  libraryDir?: string | undefined;
  /** Sends a word to the hub; false when it is not there (the hub asks again). */
  report: (message: TaskReport | SourceUnavailable) => boolean;
  logger: Logger;
}

export class RipExchange {
  /** Tasks whose rip is being sent or whose result is being fetched: the hub asking again does not start a second. */
  private readonly busy = new Set<string>();
  /** Results put in place and said delivered, until the hub answers: its yes removes the rip, its no the result. */
  private readonly delivering = new Map<number, { leaseId: string; rip: string; result: string; keepRip: boolean }>();
  private readonly abort = new AbortController();

  constructor(private readonly options: RipExchangeOptions) {}

  /** Stops every transfer; what was fetched so far stays in its part file, and what was sent, at the hub. */
  stop(): void {
    this.abort.abort(new Error('The station is shutting down'));
  }

  /** The hub wants the rip of a task of this station, for a station that cannot reach it. */
  async sourceWanted(message: SourceWanted): Promise<void> {
    const { logger } = this.options;
    await this.once(`source ${message.task_id}`, async () => {
      let source: string;
      try {
        source = taskFile(this.options, message.root, message.source);
        await stat(source);
      } catch (error) {
        const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? `${basename(message.source)} is not in the output folder` : (error as Error).message;
        logger.error({ task: message.task_id }, `Cannot send the rip of transcode task ${message.task_id} to the hub: ${reason}`);
        this.options.report({ kind: 'source_unavailable', task_id: message.task_id, error: reason.slice(0, 500) });
        return;
      }
      logger.info({ task: message.task_id, file: source }, `Sending the rip of transcode task ${message.task_id} to the hub for a station that cannot reach it`);
      await this.options.files.upload(`${TASK_FILES_PATH}/${message.task_id}/source`, source, this.abort.signal);
      logger.info({ task: message.task_id }, `The rip of transcode task ${message.task_id} is at the hub`);
    });
  }

  /** A task's result, transcoded elsewhere, is at the hub: fetch it, put it in place, and say so. */
  async resultReady(message: ResultReady): Promise<void> {
    const { logger } = this.options;
    await this.once(`result ${message.task_id}`, async () => {
      const output = taskFile(this.options, message.root, message.output);
      const inPlace = await stat(output).then((s) => s.size === message.size_bytes, () => false)
        && (await hashFile({ file: output, signal: this.abort.signal })) === message.sha256;
      if (!inPlace) {
        const partial = `${output}.${message.lease_id.slice(0, 8)}${PARTIAL_SUFFIX}`;
        try {
          await this.options.files.download(`${TASK_FILES_PATH}/${message.task_id}/result`, partial, message.sha256, message.size_bytes, this.abort.signal);
        } catch (error) {
          // Refused or never matching: nothing to resume, and nothing of it may stay in the output folder.
          if (error instanceof RipError) await rm(partial, { force: true });
          throw error;
        }
        await finishPartial(partial, output);
      }
      this.delivering.set(message.task_id, { leaseId: message.lease_id, rip: taskFile(this.options, message.root, message.source), result: output, keepRip: message.keep_rip });
      logger.info({ task: message.task_id, file: output }, `The result of transcode task ${message.task_id} is in place from the hub: ${basename(output)}; telling the hub`);
      this.options.report({ kind: 'task_report', task_id: message.task_id, lease_id: message.lease_id, status: 'delivered', size_bytes: message.size_bytes });
    });
  }

  /** The hub's answer to a `delivered`: yes removes the rip (unless kept); no (the task was retried or cancelled meanwhile) the result. */
  async verdict(verdict: TaskVerdict): Promise<void> {
    const delivered = this.delivering.get(verdict.task_id);
    if (!delivered || delivered.leaseId !== verdict.lease_id) return;
    this.delivering.delete(verdict.task_id);
    const { logger } = this.options;
    if (verdict.accepted) {
      if (!delivered.keepRip) await rm(delivered.rip, { force: true });
      logger.info({ task: verdict.task_id, file: delivered.result, keptRip: delivered.keepRip }, `Transcode task ${verdict.task_id} delivered: ${basename(delivered.result)}`);
      return;
    }
    await rm(delivered.result, { force: true });
    logger.warn({ task: verdict.task_id }, `The hub took back transcode task ${verdict.task_id} (${verdict.reason ?? 'no reason given'}): its result is removed and the rip kept`);
  }

  private async once(key: string, work: () => Promise<void>): Promise<void> {
    if (this.busy.has(key)) return;
    this.busy.add(key);
    try {
      await work();
    } catch (error) {
      if (this.abort.signal.aborted) return;
      // The hub asks again: after a while for a rip, at the next reconnect for a result.
      this.options.logger.warn({ err: error, transfer: key }, `A transfer of transcode files with the hub failed (${(error as Error).message}); the hub will ask again`);
    } finally {
      this.busy.delete(key);
    }
  }
}
