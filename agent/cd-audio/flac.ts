// Encodes a ripped WAV to FLAC with its tags, then proves the FLAC file holds exactly that audio: the MD5 flac stores
// of what it encoded (metaflac --show-md5sum) must equal the MD5 of the WAV's samples.
import { rm } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { missingTool, notFound } from '../tools/find-executable.js';
import { RipError } from '../tools/rip-error.js';
import { runTool, ToolMissingError, type ToolRun } from '../tools/run-tool.js';
import { pcmMd5 } from './wav.js';

const INSTALL_HINT = 'install the Debian package flac (apt-get install flac), or set DISCBRIDGE_FLAC and DISCBRIDGE_METAFLAC to their paths';
// Vorbis comment field names: printable ASCII without "=".
const TAG_NAME = /^[\x20-\x3c\x3e-\x7d]+$/;
// Tag values come from the disc's CD-Text, which anyone can write: no control characters, and a bounded length.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;
export const MAX_TAG_LENGTH = 1000;
const MD5 = /^[0-9a-f]{32}$/;
const NO_MD5 = /^0{32}$/;

export interface EncodeRequest {
  /** The WAV file to encode. */
  input: string;
  /** The .flac file to write; removed when the encode fails, is cancelled or does not check out. */
  output: string;
  /** Vorbis comments, e.g. { TITLE: …, ARTIST: …, TRACKNUMBER: '3' }. */
  tags: Record<string, string>;
  signal: AbortSignal;
  onProgress?: (fraction: number) => void;
}

export class FlacEncoder {
  readonly toolName = 'flac';

  constructor(private readonly options: { flac: string; metaflac: string }) {}

  async checkInstalled(): Promise<string | undefined> {
    for (const binary of [this.options.flac, this.options.metaflac]) {
      const missing = await missingTool(basename(binary), binary, INSTALL_HINT);
      if (missing) return missing;
    }
    return undefined;
  }

  async encode(request: EncodeRequest): Promise<void> {
    const { signal } = request;
    signal.throwIfAborted();
    const input = resolve(request.input);
    const output = resolve(request.output);
    try {
      // The WAV is hashed while flac reads it, so it comes from disk once; both settle before any clean-up.
      const [expected, encoded] = await Promise.allSettled([pcmMd5(input), this.encodeFile(input, output, request.tags, signal)]);
      if (encoded.status === 'rejected') throw encoded.reason;
      if (expected.status === 'rejected') throw expected.reason;
      const stored = await this.storedMd5(output, signal);
      if (stored !== expected.value) {
        throw new RipError(
          `The FLAC file ${basename(output)} does not hold the ripped audio: its MD5 ${stored} differs from the WAV's ${expected.value}`,
        );
      }
    } catch (error) {
      await rm(output, { force: true });
      throw error;
    }
    request.onProgress?.(1);
  }

  /**
   * --silent: flac redraws its progress with backspaces, which the line splitter never breaks on, so every update
   * would arrive in one line at the end; encoding runs at hundreds of times real time anyway.
   * --no-utf8-convert: the tags are UTF-8 already; under the C locale a service runs with, flac would turn "é" into "#".
   */
  private async encodeFile(input: string, output: string, tags: Record<string, string>, signal: AbortSignal): Promise<void> {
    const args = ['-f', '--silent', '--no-utf8-convert', ...tagArguments(tags), '-o', output, input];
    const run = await this.run(this.options.flac, args, signal);
    if (run.exitCode !== 0) {
      throw new RipError(`flac could not encode ${basename(input)} (exit code ${run.exitCode ?? run.signal})`, run.stderrTail.join('\n'));
    }
  }

  private async storedMd5(flacFile: string, signal: AbortSignal): Promise<string> {
    const run = await this.run(this.options.metaflac, ['--show-md5sum', flacFile], signal);
    const md5 = run.stdout.trim();
    if (run.exitCode !== 0 || !MD5.test(md5)) {
      throw new RipError(`metaflac could not read the MD5 of ${basename(flacFile)}`, run.stderrTail.join('\n'));
    }
    // flac stores zeros when it could not compute the MD5 (input of unknown length): nothing to compare.
    if (NO_MD5.test(md5)) throw new RipError(`The FLAC file ${basename(flacFile)} carries no MD5 of its audio to check`);
    return md5;
  }

  private async run(binary: string, args: string[], signal: AbortSignal): Promise<ToolRun> {
    let run: ToolRun;
    try {
      run = await runTool(binary, args, { signal, installHint: INSTALL_HINT, collectStdout: true });
    } catch (error) {
      if (error instanceof ToolMissingError) throw new RipError(notFound(basename(binary), binary, INSTALL_HINT));
      throw error;
    }
    if (run.cancelled) throw signal.reason;
    return run;
  }
}

/** One argv item per tag, so no value can become an option or reach a shell; empty values are left out. */
export function tagArguments(tags: Record<string, string>): string[] {
  return Object.entries(tags).flatMap(([name, value]) => {
    if (!TAG_NAME.test(name)) throw new Error(`"${name}" is not a Vorbis comment name`);
    const clean = cleanTagValue(value);
    return clean === '' ? [] : [`--tag=${name}=${clean}`];
  });
}

export function cleanTagValue(value: string): string {
  // Counted in code points, so a cut never splits a character in two.
  return Array.from(value.replace(CONTROL_CHARACTERS, ' ').trim()).slice(0, MAX_TAG_LENGTH).join('').trimEnd();
}
