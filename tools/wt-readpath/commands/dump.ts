import { ErrorCode, SchemaError } from '../../../engine/errors.js';
import { HomeSession, type HomeOptions } from '../context.js';
import { creationConfig, dumpHeader, dumpItem, dumpRecord, dumpUri } from '../dump_format.js';
import { ExitCode, type ExitCodeValue, type Output } from '../output.js';

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
    if (output.json) {
      const records: Array<{ key: string; value: string }> = [];
      for (const record of session.reader.records(resolved.file)) records.push({ key: dumpItem(record.key, hex), value: dumpItem(record.value, hex) });
      session.report();
      output.document({ uri, config, format: hex ? 'hex' : 'print', records });
    } else {
      output.out(dumpHeader(uri, config, hex));
      let count = 0;
      for (const record of session.reader.records(resolved.file)) {
        output.out(dumpRecord(record, hex));
        if (++count % 4096 === 0) {
          session.report();
          await output.drain();
        }
      }
    }
    return session.exitCode;
  } finally {
    await session.close();
  }
}
