// Interprets a whole `makemkvcon -r info` run: version, drives, the disc, its titles and streams, every message,
// the reason it failed (if it did), and the lines that were not robot records.
import { Attr, MsgCode, ValueCode } from './codes.js';
import { optional, textOf, type AttributeValue } from './attribute-values.js';
import { driveFromLine, type MakeMkvDrive } from './drives.js';
import { FailureClassifier, type FailureOptions, type MakeMkvFailure } from './failure.js';
import type { RobotLine } from './robot-line.js';
import { TitleCollector, type MakeMkvTitle } from './titles.js';

export type MakeMkvDiscType = 'dvd' | 'bluray' | 'hddvd' | 'unknown';

export interface MakeMkvDisc {
  type: MakeMkvDiscType;
  /** Often a friendly name from MakeMKV's disc database ("Demon Slayer: … Disc 1"). */
  name?: string;
  /** The raw volume label ("BDROM"). */
  volumeName?: string;
}

export interface MakeMkvInfo {
  /** "1.18.1". */
  version?: string;
  /** "linux(x64-release)", "darwin(arm64-release)". */
  platform?: string;
  /** Drives that exist, in MakeMKV index order; empty slots are left out. */
  drives: MakeMkvDrive[];
  /** Present when MakeMKV opened a disc and described it (CINFO). */
  disc?: MakeMkvDisc;
  titles: MakeMkvTitle[];
  /** Every MSG in order, for the job log. */
  messages: { code: number; message: string }[];
  failure?: MakeMkvFailure;
  /** Lines that were not robot records (usage text, noise), blank lines excepted. */
  unknownText: string[];
}

export type InterpretInfoOptions = FailureOptions;

const DISC_TYPES: ReadonlyMap<number, MakeMkvDiscType> = new Map([
  [ValueCode.DvdDisc, 'dvd'],
  [ValueCode.BlurayDisc, 'bluray'],
  [ValueCode.HdDvdDisc, 'hddvd'],
]);

/** "MakeMKV v1.18.1 linux(x64-release)", the first parameter of the 1005 banner. */
const BANNER = /^MakeMKV v(\S+) (.+)$/;

export function interpretInfo(lines: Iterable<RobotLine>, options: InterpretInfoOptions = {}): MakeMkvInfo {
  const failures = new FailureClassifier(options);
  const titles = new TitleCollector();
  const discAttributes = new Map<number, AttributeValue>();
  const drives: MakeMkvDrive[] = [];
  const messages: MakeMkvInfo['messages'] = [];
  const unknownText: string[] = [];
  let banner: RegExpExecArray | null = null;

  for (const line of lines) {
    failures.observe(line);
    switch (line.kind) {
      case 'msg':
        messages.push({ code: line.code, message: line.message });
        if (line.code === MsgCode.Started) banner = BANNER.exec(line.params[0] ?? '');
        break;
      case 'drv': {
        const drive = driveFromLine(line);
        if (drive) drives.push(drive);
        break;
      }
      case 'cinfo':
        discAttributes.set(line.id, { code: line.code, value: line.value });
        break;
      case 'tinfo':
      case 'sinfo':
        titles.add(line);
        break;
      case 'text':
        unknownText.push(line.text);
        break;
      default:
        // Progress and TCOUNT say nothing the titles do not; blank lines say nothing at all.
        break;
    }
  }

  return {
    ...optional('version', banner?.[1]),
    ...optional('platform', banner?.[2]),
    drives,
    ...optional('disc', discAttributes.size > 0 ? discFrom(discAttributes) : undefined),
    titles: titles.titles(),
    messages,
    ...optional('failure', failures.failure),
    unknownText,
  };
}

function discFrom(attributes: ReadonlyMap<number, AttributeValue>): MakeMkvDisc {
  return {
    // The Type's code is the language-neutral id of "DVD disc" / "Blu-ray disc"; the text is localised.
    type: DISC_TYPES.get(attributes.get(Attr.Type)?.code ?? 0) ?? 'unknown',
    ...optional('name', textOf(attributes, Attr.Name)),
    ...optional('volumeName', textOf(attributes, Attr.VolumeName)),
  };
}
