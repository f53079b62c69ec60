// Reads the string values of CINFO/TINFO/SINFO attributes (MakeMKV quotes every value, numbers included) into
// the types the interpretation exposes, and keeps absent or empty values out of optional properties.

/** One attribute as MakeMKV gave it: `code` is non-zero when `value` is a localised constant. */
export interface AttributeValue {
  code: number;
  value: string;
}

export type Attributes = ReadonlyMap<number, AttributeValue>;

/** The text of an attribute; undefined when it is missing or empty, since "" tells the user nothing. */
export function textOf(attributes: Attributes, id: number): string | undefined {
  const value = attributes.get(id)?.value;
  return value === '' ? undefined : value;
}

/** A non-negative integer attribute ("21", "31843694592", "01"); undefined when missing or not a number. */
export function integerOf(attributes: Attributes, id: number): number | undefined {
  const value = attributes.get(id)?.value;
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

/** Seconds of a "H:MM:SS" duration ("1:37:28", "0:02:02"); undefined when missing or in another form. */
export function durationOf(attributes: Attributes, id: number): number | undefined {
  const match = /^(\d+):([0-5]\d):([0-5]\d)$/.exec(attributes.get(id)?.value ?? '');
  if (!match) return undefined;
  const [, hours, minutes, seconds] = match;
  return Number(hours) * 3600 + Number(minutes) * 60 + Number(seconds);
}

/** `{ [key]: value }`, or `{}` when value is undefined: optional properties stay absent, never `undefined`. */
export function optional<Key extends string, Value>(key: Key, value: Value | undefined): Partial<Record<Key, Value>> {
  return value === undefined ? {} : ({ [key]: value } as Record<Key, Value>);
}
