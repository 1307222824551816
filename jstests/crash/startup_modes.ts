import { BSON, Long, Timestamp } from 'mongodb';
import { execa } from 'execa';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtPaths, runReadPath, runShim } from '../libs/index.js';

/**
 * The server's start-up modes as crash points: `mongod-shim --repair` and `--magicRestore` run
 * on the crashed home and are SIGKILLed part-way. Until the server implements a mode it refuses
 * it ("not yet supported"); the loop then leaves that crash point out.
 */

/** Which start-up modes the built server implements. */
export interface StartupModeAvailability {
  repairMode: boolean;
  magicRestore: boolean;
}

const notSupported = /not yet supported/;

/** The magic-restore configuration for a one-member set `rs0`, restoring to `maxCheckpointTs`. */
function restoreConfiguration(maxCheckpointTs: Timestamp): Buffer {
  return Buffer.from(
    BSON.serialize({
      nodeType: 'replicaSet',
      replicaSetConfig: { _id: 'rs0', version: 1, term: 1, members: [{ _id: 0, host: 'localhost:27017' }] },
      maxCheckpointTs,
    }),
  );
}

/** Runs each mode once on an empty scratch dbpath to see whether the server implements it. */
export async function probeStartupModes(): Promise<StartupModeAvailability> {
  const scratch = await mkdtemp(join(tmpdir(), 'crash-probe-'));
  try {
    const repair = await runShim(['--dbpath', scratch, '--replSet', 'rs0', '--repair'], { input: Buffer.alloc(0), timeoutMs: 60_000 });
    const restore = await runShim(['--dbpath', scratch, '--replSet', 'rs0', '--magicRestore'], { input: restoreConfiguration(new Timestamp({ t: 1, i: 1 })), timeoutMs: 60_000 });
    return {
      repairMode: !notSupported.test(repair.stdout + repair.stderr),
      magicRestore: !notSupported.test(restore.stdout + restore.stderr),
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * The timestamp of the newest checkpoint of a stopped home: its newest completion record in
 * disaggregated storage, else the local metadata's `system:checkpoint` entry.
 */
async function newestCheckpointTimestamp(dbpath: string): Promise<Timestamp> {
  const turtle = JSON.parse((await runReadPath(['turtle', '--json', dbpath])).stdout) as { completionRecords?: { timestamp: string; newest: boolean }[] };
  const newest = turtle.completionRecords?.find((record) => record.newest);
  let hex = newest?.timestamp.replace(/^0x/, '');
  if (hex === undefined) {
    const entries = JSON.parse((await runReadPath(['list', '-v', '--json', dbpath])).stdout) as { uri: string; config: string }[];
    const checkpoint = entries.find((entry) => entry.uri === 'system:checkpoint');
    hex = /checkpoint_timestamp="?([0-9a-f]+)/.exec(checkpoint?.config ?? '')?.[1];
  }
  if (hex === undefined) throw new Error(`no checkpoint timestamp in ${dbpath}`);
  return new Timestamp(Long.fromBigInt(BigInt(`0x${hex}`), true));
}

/** How a killed start-up mode ended. */
export interface StartupModeOutcome {
  /** It exited 0 before the kill. */
  completed: boolean;
  /** Set when it failed on its own (not killed, not exit 0): what it said. */
  unexpected?: string;
}

/**
 * Runs `--repair` or `--magicRestore` (restoring to the home's newest checkpoint, so no
 * acknowledged write is rolled back) and SIGKILLs it after `afterMs` unless it finished.
 */
export async function runStartupModeKilled(dbpath: string, mode: 'repairMode' | 'magicRestore', storage: 'disagg' | 'local', afterMs: number): Promise<StartupModeOutcome> {
  const args = ['--dbpath', dbpath, '--port', '0', '--replSet', 'rs0', '--storage', storage];
  if (storage === 'disagg') args.push('--keyProvider', 'example');
  let input: Buffer = Buffer.alloc(0);
  if (mode === 'repairMode') args.push('--repair', '--setParameter', 'enableRepairCommands=1');
  else {
    args.push('--magicRestore');
    input = restoreConfiguration(await newestCheckpointTimestamp(dbpath));
  }
  const subprocess = execa('node', [builtPaths.mongodShim, ...args], { input, reject: false, timeout: 120_000 });
  const timer = setTimeout(() => subprocess.kill('SIGKILL'), afterMs);
  const result = await subprocess;
  clearTimeout(timer);
  if (result.exitCode === 0) return { completed: true };
  if (result.signal === 'SIGKILL') return { completed: false };
  const output = `${String(result.stdout)}\n${String(result.stderr)}`.trim().split('\n').slice(-15).join('\n');
  return { completed: false, unexpected: `mongod-shim ${mode === 'repairMode' ? '--repair' : '--magicRestore'} exited ${result.exitCode} on the crashed home:\n${output}` };
}
