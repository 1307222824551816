import { getConfigValue } from '../format/index.js';
import { readJournalNames } from '../log/index.js';
import { FindingCode, type FindingSink } from './findings.js';
import type { MetadataEntry } from './home.js';

/** The local metadata entry naming the home's identity (as the connection writes it). */
const JOURNAL_METADATA_KEY = 'system:journal';

/**
 * Checks the journal files as recovery would read them, changing nothing: a corrupt or
 * truncated file, a missing one, or one of another home is an error (the engine will not open
 * the home); a torn last record is a warning (recovery cuts it off). Returns the files that
 * journaled creates name (the next writable open replays them: they are no orphans).
 */
export function checkJournal(home: string, localEntries: MetadataEntry[], sink: FindingSink): Set<string> {
  const entry = localEntries.find((e) => e.key === JOURNAL_METADATA_KEY);
  const homeId = entry === undefined ? undefined : getConfigValue(entry.value, 'home_id');
  const { files, inspection } = readJournalNames(home, homeId);
  for (const problem of inspection.problems) {
    const code = problem.kind === 'foreignHome' ? FindingCode.JournalForeign : FindingCode.JournalCorrupt;
    sink.error(code, problem.message, { file: problem.file, offset: problem.offset });
  }
  if (inspection.tornTail) {
    sink.warning(FindingCode.JournalTornTail, `${inspection.tornTail.file} ends with a torn record at offset ${inspection.tornTail.offset}; recovery cuts it off there`, {
      file: inspection.tornTail.file, offset: inspection.tornTail.offset,
    });
  }
  return files;
}
