import { ErrorCode, SchemaError } from '../../../engine/errors.js';
import { HomeSession, type HomeOptions } from '../context.js';
import { creationConfig, DumpEncoder, dumpHeader, dumpItem, dumpUri } from '../dump_format.js';
import { ExitCode, toJson, type ExitCodeValue, type Output } from '../output.js';

/** `dump`'s options. */
export interface DumpCommandOptions extends HomeOptions {
  hex?: boolean;
}

/** `dump`: `wt dump`'s text format (or a JSON document); exit 2 when the tree is damaged. */
export async function dumpCommand(home: string, uriArgument: string, options: DumpCommandOptions, output: Output): Promise<ExitCodeValue> {
  const session = await HomeSession.open(home, output, options);
  try {
    const uri = dumpUri(uriArgument);
    const resolved = session.reader.resolveFile(uri);
    if (resolved === undefined) {
      if (session.exitCode === ExitCode.Corruption) return ExitCode.Corruption;
      throw new SchemaError(ErrorCode.NotFound, `${uri}: No such object exists`, { uri });
    }
    const hex = options.hex === true;
    const config = creationConfig(session.reader, uri, resolved.file, resolved.table);
    // Records stream out as they are read, in both forms: memory stays bounded whatever the
    // table's size.
    let count = 0;
    let reportedAt = 0;
    const written = async (): Promise<void> => {
      if (++count % 4096 !== 0) return;
      session.report();
      await output.drain();
    };
    if (output.json) {
      // The document `{uri, config, format, records: [...]}`, written a record at a time.
      const head = toJson({ uri, config, format: hex ? 'hex' : 'print' });
      output.out(`${head.slice(0, head.lastIndexOf('\n}'))},\n  "records": [`);
      for (const record of session.reader.records(resolved.file)) {
        output.out(`${count === 0 ? '' : ','}\n    ${JSON.stringify({ key: dumpItem(record.key, hex), value: dumpItem(record.value, hex) })}`);
        await written();
      }
      output.out(`${count === 0 ? '' : '\n  '}]\n}\n`);
    } else {
      output.out(dumpHeader(uri, config, hex));
      // A leaf at a time: the encoder reads each record's key and value where they lie.
      const encoder = new DumpEncoder(hex, (bytes) => output.bytes(bytes));
      for (const leaf of session.reader.leaves(resolved.file)) {
        encoder.leaf(leaf);
        count += leaf.length;
        // The encoder hands over 1 MB chunks as they fill; between leaves, findings are
        // reported and a stdout that pushes back is waited for.
        if (count >= reportedAt + 4096) {
          reportedAt = count;
          session.report();
          await output.drain();
        }
      }
      encoder.flush();
    }
    return session.exitCode;
  } finally {
    await session.close();
  }
}
