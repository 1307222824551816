/**
 * What failed tests left behind for inspection (their dbpath and logs), by the full title of
 * the failed test: the fixtures record here, the JUnit reporter reads it when the run ends.
 *
 * A CommonJS module shared through `globalThis`: the fixtures run as ES modules, while mocha
 * loads the reporter with `require`, and both must see one registry.
 */

/** What one server of a failed test left behind. */
export interface KeptArtifact {
  runDirectory: string;
  dbpath: string;
  /** Unset for a server that never started. */
  logPath?: string;
}

const REGISTRY = Symbol.for('disagg-lab.jstests.keptArtifacts');

/** The registry of this process. */
export function keptArtifacts(): Map<string, KeptArtifact[]> {
  const holder = globalThis as unknown as Record<symbol, Map<string, KeptArtifact[]> | undefined>;
  return (holder[REGISTRY] ??= new Map());
}

/** Records that the failed test `fullTitle` kept `artifact`. */
export function recordKeptArtifact(fullTitle: string, artifact: KeptArtifact): void {
  const registry = keptArtifacts();
  registry.set(fullTitle, [...(registry.get(fullTitle) ?? []), artifact]);
}
