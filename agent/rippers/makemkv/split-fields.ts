// Splits the part of a robot line after its tag into fields. Values contain commas ("0,1,2,3", "Monsters, Inc.")
// and colons, so splitting has to know whether it is inside a double-quoted string.

export interface RobotField {
  /** The field's text, with quotes removed and `\"` / `\\` unescaped. */
  value: string;
  /** Numeric fields are bare; only bare fields may be read as numbers. */
  quoted: boolean;
}

/** The comma-separated fields of `body`, or undefined when a quote is unbalanced or misplaced. */
export function splitRobotFields(body: string): RobotField[] | undefined {
  const fields: RobotField[] = [];
  let at = 0;
  for (;;) {
    const field = body[at] === '"' ? readQuoted(body, at) : readBare(body, at);
    if (!field) return undefined;
    fields.push(field.field);
    at = field.end;
    if (at === body.length) return fields;
    // A closing quote must be followed by a comma: `"a"b` is not something MakeMKV writes.
    if (body[at] !== ',') return undefined;
    at += 1;
  }
}

interface ReadField {
  field: RobotField;
  /** Index just past the field. */
  end: number;
}

function readQuoted(body: string, openingQuote: number): ReadField | undefined {
  let value = '';
  for (let at = openingQuote + 1; at < body.length; at += 1) {
    const char = body.charAt(at);
    const next = body.charAt(at + 1);
    if (char === '\\' && (next === '"' || next === '\\')) {
      value += next;
      at += 1;
    } else if (char === '"') {
      return { field: { value, quoted: true }, end: at + 1 };
    } else {
      // Any other backslash is literal, so a Windows path like "C:\Users" survives.
      value += char;
    }
  }
  return undefined;
}

function readBare(body: string, start: number): ReadField | undefined {
  const comma = body.indexOf(',', start);
  const end = comma === -1 ? body.length : comma;
  const value = body.slice(start, end);
  if (value.includes('"')) return undefined;
  return { field: { value, quoted: false }, end };
}
