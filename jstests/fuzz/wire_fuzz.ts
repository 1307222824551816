import { MongoClient } from 'mongodb';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { closeClientBounded } from '../libs/driver_clients.js';
import { parseLogLine, ShimProcess } from '../libs/index.js';
import type { SuiteReport } from '../libs/report.js';
import { seededRandomFrom } from '../libs/seeded_random.js';
import { generateFuzzMessage, type FuzzMessage } from './wire_messages.js';

/**
 * Wire fuzzing: seeded malformed and hostile messages over raw sockets to one server, many
 * connections at once, while a well-behaved driver client on its own connection inserts and
 * reads back a document every 100 ms and the server's resident memory is sampled. The server
 * must stay up, answer the driver throughout, keep its memory bounded and end with no
 * connection left behind.
 */

export interface WireFuzzOptions {
  messages: number;
  seed: number;
  /** Raw connections open at once (default 32). */
  concurrency?: number;
  /** The memory bound the run is judged by (default 400 MB). */
  rssLimitMegabytes?: number;
  progress?: (line: string) => void;
}

/** What one raw connection saw. */
type Exchange = 'replied' | 'closed' | 'replied-then-closed' | 'no-answer' | 'refused';

export interface WireFuzzResult {
  passed: boolean;
  problems: string[];
  report: SuiteReport;
  keptDirectory: string | undefined;
}

/** Sends one message on a fresh connection and reports how the server reacted. */
function exchange(port: number, message: FuzzMessage, localPorts: Map<number, string>): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    let received = 0;
    let expected: number | undefined;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (outcome: Exchange): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const sent = (): void => {
      timer = setTimeout(() => finish(received > 0 || message.delivery === 'never-read' ? 'replied' : 'no-answer'), message.waitMs);
    };
    socket.on('connect', () => {
      if (socket.localPort !== undefined) localPorts.set(socket.localPort, `${message.kind}: ${message.variant}`);
      if (message.delivery === 'idle') return sent();
      if (message.delivery === 'dribble') {
        let index = 0;
        const next = (): void => {
          if (settled) return;
          if (index >= message.bytes.length) return sent();
          socket.write(message.bytes.subarray(index, index + 1));
          index += 1;
          setTimeout(next, message.dribbleDelayMs ?? 2);
        };
        return next();
      }
      if (message.delivery === 'never-read') socket.pause();
      socket.write(message.bytes, () => {
        if (message.delivery === 'half-close') socket.end();
        sent();
      });
    });
    socket.on('data', (chunk: Buffer) => {
      if (message.delivery === 'never-read') return;
      if (received === 0 && chunk.length >= 4) expected = chunk.readInt32LE(0);
      received += chunk.length;
      // One whole reply is enough: the server answered instead of failing.
      if (expected !== undefined && received >= expected && message.delivery !== 'dribble') finish('replied');
    });
    const closed = (): void => finish(received > 0 ? 'replied-then-closed' : 'closed');
    socket.on('end', closed);
    socket.on('close', closed);
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') finish('refused');
      else closed();
    });
  });
}

/** The server's resident set size in bytes, from /proc (undefined once it is gone). */
async function residentBytes(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Samples a process's memory until stopped; keeps the peak. */
class MemorySampler {
  peak = 0;
  samples = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly pid: number) {}

  start(intervalMs = 50): void {
    this.timer = setInterval(() => {
      void residentBytes(this.pid).then((bytes) => {
        if (bytes === undefined) return;
        this.samples += 1;
        this.peak = Math.max(this.peak, bytes);
      });
    }, intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** The well-behaved client: insert one document and read it back, every 100 ms. */
class DriverProbe {
  operations = 0;
  readonly failures: string[] = [];
  private stopped = false;
  private loop: Promise<void> | undefined;
  private readonly client: MongoClient;

  constructor(uri: string) {
    this.client = new MongoClient(uri, { serverSelectionTimeoutMS: 30_000, maxPoolSize: 1 });
  }

  start(): void {
    const collection = this.client.db('probe').collection<{ _id: number; at: Date }>('c');
    this.loop = (async () => {
      for (let sequence = 1; !this.stopped; sequence++) {
        try {
          const at = new Date();
          await collection.insertOne({ _id: sequence, at });
          const found = await collection.findOne({ _id: sequence });
          if (found?.at?.getTime() !== at.getTime()) this.failures.push(`document ${sequence} read back as ${JSON.stringify(found)}`);
          this.operations += 1;
        } catch (error) {
          this.failures.push(`operation ${sequence}: ${(error as Error).name}: ${(error as Error).message}`);
        }
        await sleep(100);
      }
    })();
  }

  /** Ends the insert-and-read loop (the client stays connected). */
  async pause(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  async stop(): Promise<void> {
    await this.pause();
    await closeClientBounded(this.client);
  }

  async connect(): Promise<void> {
    await this.client.connect();
  }

  /** `fuzz.big`: 4 documents of 1 MB, for the messages whose replies are never read. */
  async seedLargeDocuments(): Promise<void> {
    await this.client
      .db('fuzz')
      .collection<{ _id: number; text: string }>('big')
      .insertMany(Array.from({ length: 4 }, (_, index) => ({ _id: index, text: 'b'.repeat(1_000_000) })));
  }
}

/**
 * The local ports of this machine's established connections to `serverPort` (from /proc/net):
 * after the fuzzer closed all its sockets, those are the driver client's.
 */
async function establishedClientPorts(serverPort: number): Promise<Set<number>> {
  const ports = new Set<number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = Number.parseInt((fields[1] ?? '').split(':')[1] ?? '', 16);
      const remote = Number.parseInt((fields[2] ?? '').split(':')[1] ?? '', 16);
      // State 01 is ESTABLISHED.
      if (fields[3] === '01' && remote === serverPort) ports.add(local);
    }
  }
  return ports;
}

/**
 * The ports of the connections from `ports` the server's log shows accepted and not ended. Reads the
 * whole log file, since the harness keeps only the last lines in memory.
 */
async function connectionsStillOpen(logPath: string, ports: Map<number, string>): Promise<number[]> {
  const open = new Map<number, number>();
  for (const line of (await readFile(logPath, 'utf8')).split('\n')) {
    const parsed = parseLogLine(line);
    const attributes = parsed?.attr as { remote?: string; connectionId?: number } | undefined;
    if (attributes?.connectionId === undefined) continue;
    const port = Number(attributes.remote?.split(':').pop());
    if (parsed!.msg === 'Connection accepted' && ports.has(port)) open.set(attributes.connectionId, port);
    else if (parsed!.msg === 'Connection ended') open.delete(attributes.connectionId);
  }
  return [...open.values()];
}

export async function runWireFuzz(options: WireFuzzOptions): Promise<WireFuzzResult> {
  const started = Date.now();
  const concurrency = options.concurrency ?? 32;
  const limitBytes = (options.rssLimitMegabytes ?? 400) * 1024 * 1024;
  const random = seededRandomFrom(options.seed);
  const problems: string[] = [];
  const outcomes = new Map<string, Record<Exchange, number>>();
  const shim = new ShimProcess({ replSet: 'rs0', setParameters: { checkpointIntervalSecs: 5 } });
  let keptDirectory: string | undefined;
  let baselineBytes = 0;
  let finalBytes = 0;
  let sampler: MemorySampler | undefined;
  let probe: DriverProbe | undefined;
  let sent = 0;
  /** The local port of each fuzzing connection, with what it sent. */
  const fuzzerPorts = new Map<number, string>();
  let fuzzerConnectionsLeft = -1;
  let sendingMs = 0;
  try {
    await shim.start();
    // The lock's first line is the server's PID.
    const pid = Number.parseInt(await readFile(join(shim.dbpath, 'mongod.lock'), 'utf8'), 10);
    probe = new DriverProbe(shim.uri);
    await probe.connect();
    await probe.seedLargeDocuments();
    probe.start();
    baselineBytes = (await residentBytes(pid)) ?? 0;
    sampler = new MemorySampler(pid);
    sampler.start();

    // Workers pull the next message from one generator, so the sequence depends on the seed only.
    const sendingStarted = Date.now();
    const worker = async (): Promise<void> => {
      while (sent < options.messages && shim.state === 'running') {
        sent += 1;
        if (sent % 1000 === 0) options.progress?.(`${sent} messages sent; peak RSS ${(sampler!.peak / 1048576).toFixed(0)} MB; driver operations ${probe!.operations}`);
        const message = generateFuzzMessage(random);
        const outcome = await exchange(shim.port, message, fuzzerPorts);
        const tally = outcomes.get(message.kind) ?? { replied: 0, closed: 0, 'replied-then-closed': 0, 'no-answer': 0, refused: 0 };
        tally[outcome] += 1;
        outcomes.set(message.kind, tally);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    sendingMs = Date.now() - sendingStarted;

    await probe.pause();
    if (shim.state !== 'running') {
      problems.push(`the server exited during the run (${JSON.stringify(shim.exit)}); last log lines:\n${shim.tail(40)}`);
    } else {
      // Every fuzzing socket is closed on this side; the server must end each connection. The
      // log pairs "Connection accepted" (by the socket's port) with "Connection ended".
      let open: number[] = [];
      for (let attempt = 0; attempt < 50; attempt++) {
        // A port the driver client reuses for a connection of its own is not a fuzzing one.
        const live = await establishedClientPorts(shim.port);
        open = (await connectionsStillOpen(shim.logPath!, fuzzerPorts)).filter((port) => !live.has(port));
        if (open.length === 0) break;
        await sleep(100);
      }
      fuzzerConnectionsLeft = open.length;
      if (open.length > 0) {
        const what = open.slice(0, 5).map((port) => `port ${port} (${fuzzerPorts.get(port)})`).join('; ');
        problems.push(`${open.length} fuzzing connection(s) still open on the server 5 s after every fuzzing socket was closed: ${what}`);
      }
      finalBytes = (await residentBytes(pid)) ?? 0;
    }
    sampler.stop();
    await probe.stop();
    if (probe.failures.length > 0) problems.push(`the driver client failed ${probe.failures.length} time(s) while the fuzzer ran: ${probe.failures.slice(0, 5).join('; ')}`);
    if (probe.operations === 0) problems.push('the driver client completed no operation');
    if (sampler.peak > limitBytes) problems.push(`the server's resident memory peaked at ${(sampler.peak / 1048576).toFixed(0)} MB, over the ${(limitBytes / 1048576).toFixed(0)} MB bound`);
    const uncaught = shim.logLines().filter((line) => line.s === 'F' || line.msg === 'Uncaught exception');
    if (uncaught.length > 0) problems.push(`the server logged ${uncaught.length} fatal line(s): ${JSON.stringify(uncaught[0]).slice(0, 500)}`);
    if (shim.state === 'running') await shim.stop();
  } catch (error) {
    problems.push(`the run itself failed: ${(error as Error)?.stack ?? String(error)}`);
  } finally {
    sampler?.stop();
    await probe?.stop().catch(() => undefined);
    keptDirectory = await shim.cleanup({ keep: problems.length > 0 });
  }

  const totals: Record<Exchange, number> = { replied: 0, closed: 0, 'replied-then-closed': 0, 'no-answer': 0, refused: 0 };
  for (const tally of outcomes.values()) for (const [outcome, count] of Object.entries(tally)) totals[outcome as Exchange] += count;
  const durationMs = Date.now() - started;
  const megabytes = (bytes: number): number => Math.round((bytes / 1048576) * 10) / 10;
  const report: SuiteReport = {
    suite: 'fuzz',
    passed: problems.length === 0,
    seed: options.seed,
    startedAt: new Date(started).toISOString(),
    durationMs,
    figures: {
      messages: sent,
      concurrency,
      replied: totals.replied + totals['replied-then-closed'],
      closedByServer: totals.closed + totals['replied-then-closed'],
      noAnswerWithinWait: totals['no-answer'],
      refusedConnections: totals.refused,
      messagesPerSecond: sendingMs === 0 ? null : Math.round((sent / sendingMs) * 1000),
      baselineRssMB: megabytes(baselineBytes),
      peakRssMB: megabytes(sampler?.peak ?? 0),
      finalRssMB: megabytes(finalBytes),
      rssLimitMB: megabytes(limitBytes),
      rssSamples: sampler?.samples ?? 0,
      driverOperations: probe?.operations ?? 0,
      driverFailures: probe?.failures.length ?? 0,
      fuzzerConnectionsLeftOpen: fuzzerConnectionsLeft,
    },
    details: {
      problems,
      byKind: Object.fromEntries([...outcomes].sort(([a], [b]) => a.localeCompare(b))),
      reproduce: `JSTEST_SEED=${options.seed} JSTEST_FUZZ_MESSAGES=${options.messages}`,
      keptDirectory: keptDirectory ?? null,
    },
  };
  return { passed: problems.length === 0, problems, report, keptDirectory };
}
