/**
 * Reads what WiredTiger's `wt dump` prints in its default "print" format: a header, the table
 * URI and configuration, then after the `Data` line one key line and one value line per record,
 * with printable ASCII as is, a backslash doubled and every other byte as `\xx` in hex.
 */
export interface Dump {
  uri: string;
  config: string;
  /** Keys and values as printed (still escaped). */
  records: Array<[string, string]>;
}

export function parseDump(text: string): Dump {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const header = lines.indexOf('Header');
  const data = lines.indexOf('Data');
  if (header < 0 || data < 0 || data !== header + 3) throw new Error('not a wt dump in print format');
  const body = lines.slice(data + 1);
  if (body.length % 2 !== 0) throw new Error(`the dump's data has an odd number of lines (${body.length})`);
  const records: Array<[string, string]> = [];
  for (let i = 0; i < body.length; i += 2) records.push([body[i]!, body[i + 1]!]);
  return { uri: lines[header + 1]!, config: lines[header + 2]!, records };
}

/** The bytes a dump line stands for. */
export function unescapeDump(line: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c !== 0x5c) {
      out.push(c);
    } else if (line[i + 1] === '\\') {
      out.push(0x5c);
      i++;
    } else {
      const hex = line.slice(i + 1, i + 3);
      if (!/^[0-9a-f]{2}$/i.test(hex)) throw new Error(`bad escape "\\${hex}" in dump line "${line}"`);
      out.push(parseInt(hex, 16));
      i += 2;
    }
  }
  return Buffer.from(out);
}
