// Turns one line of makemkvcon robot output (`-r`) into a typed record. Never throws: anything that is not a
// well-formed robot line (usage text, log noise, a truncated or malformed record) comes back as `text`, so the
// caller can log it, and blank or whitespace-only lines come back as `blank`, so the caller can skip them.
import { splitRobotFields, type RobotField } from './split-fields.js';

export type RobotLine =
  | MsgLine
  | PrgtLine
  | PrgcLine
  | PrgvLine
  | DrvLine
  | TcountLine
  | CinfoLine
  | TinfoLine
  | SinfoLine
  | TextLine
  | BlankLine;

/** `MSG:code,flags,count,"message","format",param…`. */
export interface MsgLine {
  kind: 'msg';
  code: number;
  /** AP_UIMSG_* bitmask. */
  flags: number;
  /** The parameter count MakeMKV announced; `params` holds what actually followed. */
  count: number;
  /** The rendered, localised text. */
  message: string;
  /** The template, with %1…%n placeholders. */
  format: string;
  params: string[];
}

interface ProgressTitle {
  /** A message id naming the stage, not a title number. */
  code: number;
  id: number;
  name: string;
}

/** `PRGT:code,id,"name"`: the whole operation ("Saving all titles to MKV files"). */
export interface PrgtLine extends ProgressTitle {
  kind: 'prgt';
}

/** `PRGC:code,id,"name"`: the current step of the operation ("Analyzing seamless segments"). */
export interface PrgcLine extends ProgressTitle {
  kind: 'prgc';
}

/** `PRGV:current,total,max`: `current` follows the PRGC step, `total` the PRGT operation. */
export interface PrgvLine {
  kind: 'prgv';
  current: number;
  total: number;
  /** Always 65536 in real output, but divide by it rather than assume it. */
  max: number;
}

/** `DRV:index,state,enabled,flags,"drive name","disc name","device path"`. */
export interface DrvLine {
  kind: 'drv';
  index: number;
  /** DriveState. */
  state: number;
  enabled: number;
  /** DiscFlag bitmask. */
  flags: number;
  driveName: string;
  discName: string;
  devicePath: string;
}

export interface TcountLine {
  kind: 'tcount';
  count: number;
}

/** `CINFO:id,code,"value"`: an attribute of the disc. */
export interface CinfoLine {
  kind: 'cinfo';
  id: number;
  code: number;
  value: string;
}

/** `TINFO:title,id,code,"value"`: an attribute of a title. */
export interface TinfoLine {
  kind: 'tinfo';
  title: number;
  id: number;
  code: number;
  value: string;
}

/** `SINFO:title,stream,id,code,"value"`: an attribute of one stream of a title. */
export interface SinfoLine {
  kind: 'sinfo';
  title: number;
  stream: number;
  id: number;
  code: number;
  value: string;
}

export interface TextLine {
  kind: 'text';
  /** The line without its trailing whitespace. */
  text: string;
}

export interface BlankLine {
  kind: 'blank';
}

export function parseRobotLine(line: string): RobotLine {
  // Trailing spaces and CR occur in real output (`CINFO:1,6209,"Blu-ray disc" `); leading ones never do.
  const trimmed = line.trimEnd();
  if (trimmed === '') return { kind: 'blank' };
  const colon = trimmed.indexOf(':');
  const fields = colon === -1 ? undefined : splitRobotFields(trimmed.slice(colon + 1));
  const record = fields && decodeRecord(trimmed.slice(0, colon), fields);
  return record ?? { kind: 'text', text: trimmed };
}

/** Every line of a captured output; the empty piece after a final newline is not a line. */
export function parseRobotText(output: string): RobotLine[] {
  const lines = output.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.map(parseRobotLine);
}

function decodeRecord(tag: string, fields: RobotField[]): RobotLine | undefined {
  switch (tag) {
    case 'MSG': {
      const head = decode(fields.slice(0, 5), ['int', 'int', 'int', 'str', 'str']);
      if (!head) return undefined;
      const [code, flags, count, message, format] = head;
      return { kind: 'msg', code, flags, count, message, format, params: fields.slice(5).map((f) => f.value) };
    }
    case 'PRGT':
    case 'PRGC': {
      const decoded = decode(fields, ['int', 'int', 'str']);
      if (!decoded) return undefined;
      const [code, id, name] = decoded;
      return { kind: tag === 'PRGT' ? 'prgt' : 'prgc', code, id, name };
    }
    case 'PRGV': {
      const decoded = decode(fields, ['int', 'int', 'int']);
      if (!decoded) return undefined;
      const [current, total, max] = decoded;
      return { kind: 'prgv', current, total, max };
    }
    case 'DRV': {
      const decoded = decode(fields, ['int', 'int', 'int', 'int', 'str', 'str', 'str']);
      if (!decoded) return undefined;
      const [index, state, enabled, flags, driveName, discName, devicePath] = decoded;
      return { kind: 'drv', index, state, enabled, flags, driveName, discName, devicePath };
    }
    case 'TCOUNT': {
      const decoded = decode(fields, ['int']);
      if (!decoded) return undefined;
      return { kind: 'tcount', count: decoded[0] };
    }
    case 'CINFO': {
      const decoded = decode(fields, ['int', 'int', 'str']);
      if (!decoded) return undefined;
      const [id, code, value] = decoded;
      return { kind: 'cinfo', id, code, value };
    }
    case 'TINFO': {
      const decoded = decode(fields, ['int', 'int', 'int', 'str']);
      if (!decoded) return undefined;
      const [title, id, code, value] = decoded;
      return { kind: 'tinfo', title, id, code, value };
    }
    case 'SINFO': {
      const decoded = decode(fields, ['int', 'int', 'int', 'int', 'str']);
      if (!decoded) return undefined;
      const [title, stream, id, code, value] = decoded;
      return { kind: 'sinfo', title, stream, id, code, value };
    }
    default:
      return undefined;
  }
}

type FieldType = 'int' | 'str';
type Decoded<Shape extends readonly FieldType[]> = { [K in keyof Shape]: Shape[K] extends 'int' ? number : string };

/**
 * The fields as numbers and strings, or undefined when their count or a number is wrong. Numbers must be bare
 * digits; strings may be quoted or bare.
 */
function decode<const Shape extends readonly FieldType[]>(
  fields: readonly RobotField[],
  shape: Shape,
): Decoded<Shape> | undefined {
  if (fields.length !== shape.length) return undefined;
  const values: (number | string)[] = [];
  for (const [at, type] of shape.entries()) {
    const field = fields[at];
    if (!field) return undefined;
    if (type === 'str') {
      values.push(field.value);
    } else if (!field.quoted && /^\d+$/.test(field.value)) {
      values.push(Number(field.value));
    } else {
      return undefined;
    }
  }
  return values as Decoded<Shape>;
}
