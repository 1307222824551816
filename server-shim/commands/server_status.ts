import { Long } from 'bson';
import type { CheckpointInfo } from '../../engine/index.js';
import { hostname } from 'node:os';
import { serverVersion } from '../options/index.js';
import { bigIntToTimestamp, type StorageFailure } from '../storage/index.js';
import type { Document } from '../values/index.js';
import type { ServerState } from './context.js';
import { defineCommand } from './registry.js';

/**
 * The `disagg` section: the last checkpoint's identity (completion-record LSN), turtle-page LSN
 * and timestamp, the key provider's module, key version and key-provider page LSN, and why
 * checkpoints fail or writes are refused, if they do.
 */
export function storageSection(server: ServerState): Document {
  const checkpoint = server.storage.lastCheckpoint();
  const keyProvider = server.storage.connection.keyProviderStatus();
  const roles = server.storage.connection.disaggStatus();
  return {
    mode: server.storage.connection.storage,
    ...(roles === undefined ? {} : {
      // The node's part in the page log it shares: a leader's checkpoint is its last; a
      // follower's, the one it serves reads as of (null while it waits for a first).
      role: roles.role,
      nodeId: roles.nodeId,
      term: Long.fromNumber(roles.term),
      checkpoint: roles.checkpoint === undefined ? null : checkpointDocument(roles.checkpoint),
      waitingForCheckpoint: roles.waitingForCheckpoint,
      keyVersion: keyProvider?.keyVersion ?? null,
      lag: { checkpoints: roles.lag.checkpoints, lsn: Long.fromNumber(roles.lag.lsn), newestId: roles.newest?.id ?? null },
      heldCheckpoints: roles.heldCheckpoints,
      fencedBy: roles.fencedBy === undefined ? null : { term: Long.fromNumber(roles.fencedBy.term), nodeId: roles.fencedBy.nodeId },
      adoptedCheckpoint: roles.adopted,
      // Every node's lease: the leader's, and each follower's held checkpoints (pruning keeps them while live).
      leases: roles.leases.map((lease) => ({
        nodeId: lease.nodeId, role: lease.role, term: Long.fromNumber(lease.term), checkpoints: lease.checkpoints, expiresAt: new Date(lease.expiresAt), live: lease.live, pid: lease.pid,
      })),
    }),
    lastCheckpoint:
      checkpoint === undefined
        ? null
        : {
            id: checkpoint.id,
            lsn: checkpoint.lsn ?? null,
            timestamp: bigIntToTimestamp(checkpoint.timestamp),
            metadataLsn: checkpoint.metadataLsn ?? null,
            keyProviderPageLsn: checkpoint.keyProviderPageLsn ?? null,
            time: new Date(checkpoint.time),
          },
    keyProvider:
      keyProvider === undefined
        ? null
        : {
            module: keyProvider.module, keyVersion: keyProvider.keyVersion, pageLsn: keyProvider.pageLsn ?? null,
            // Keys pushed with setKeyProviderKey that no checkpoint has persisted yet.
            pendingKeyTimestamps: keyProvider.pendingKeyTimestamps.map(bigIntToTimestamp),
          },
    stableTimestamp: bigIntToTimestamp(server.storage.connection.stableTimestamp),
    pageLog: pageLogSection(server),
    // Why writes are refused until a restart (storage replaced, page log failed), else null.
    storageFailure: failureDocument(server.storage.storageFailure),
    // The last checkpoint that failed, until one succeeds; null when the last one succeeded.
    lastCheckpointFailure: failureDocument(server.storage.checkpointFailure),
  };
}

/**
 * `wiredTiger.cache`, under WiredTiger's own statistic names (mongod reports them so), for what
 * the engine's cache keeps: only leaves are held and evicted; reads and writes count every page.
 */
export function cacheSection(server: ServerState): Document {
  const cache = server.storage.connection.cacheStats();
  return {
    'maximum bytes configured': Long.fromNumber(cache.maxBytes),
    'bytes currently in the cache': Long.fromNumber(cache.bytes),
    'tracked dirty bytes in the cache': Long.fromNumber(cache.dirtyBytes),
    'pages currently held in the cache': Long.fromNumber(cache.pages),
    'unmodified pages evicted': Long.fromNumber(cache.cleanEvictions),
    'modified pages evicted': Long.fromNumber(cache.dirtyEvictions),
    'pages read into cache': Long.fromNumber(cache.pagesRead),
    'bytes read into cache': Long.fromNumber(cache.bytesRead),
    'pages written from cache': Long.fromNumber(cache.pagesWritten),
    'bytes written from cache': Long.fromNumber(cache.bytesWritten),
  };
}

/**
 * `disagg.pageLog`: the store and its location (a URL's password masked); for LMDB, its data
 * file is memory-mapped, so the part of it the server touched counts in the resident set
 * (`mem.resident`) but not in the heap (`mem.heap*`). A store without a map has null sizes.
 */
function pageLogSection(server: ServerState): Document | null {
  const size = server.storage.connection.pageLogStats();
  if (size === undefined) return null;
  const bytes = (value: number | undefined): Long | null => (value === undefined ? null : Long.fromNumber(value));
  return { store: size.store, location: size.location, mappedBytes: bytes(size.fileBytes), mapSizeBytes: bytes(size.mapSizeBytes), usedBytes: bytes(size.usedBytes) };
}

/** A checkpoint as `serverStatus` and the role commands show it. */
export function checkpointDocument(checkpoint: CheckpointInfo): Document {
  return {
    id: checkpoint.id,
    timestamp: bigIntToTimestamp(checkpoint.timestamp),
    metadataLsn: checkpoint.metadataLsn ?? null,
    keyProviderPageLsn: checkpoint.keyProviderPageLsn ?? null,
    time: new Date(checkpoint.time),
  };
}

function failureDocument(failure: StorageFailure | undefined): Document | null {
  return failure === undefined ? null : { code: failure.code, message: failure.message, location: failure.location, since: failure.since };
}

/** `serverStatus`: process, connections, operation counters and the storage state. */
export const serverStatusCommand = defineCommand({
  name: 'serverStatus',
  aliases: ['serverstatus'],
  help: 'process, connection, operation and storage statistics',
  run: (_request, context) => {
    const server = context.server;
    const now = new Date();
    const uptimeMillis = now.getTime() - server.startedAt.getTime();
    const connections = server.connectionStatistics();
    const memory = process.memoryUsage();
    return {
      host: `${hostname()}:${server.port}`,
      version: serverVersion,
      process: 'mongod-shim',
      pid: Long.fromNumber(process.pid),
      uptime: Math.floor(uptimeMillis / 1000),
      uptimeMillis: Long.fromNumber(uptimeMillis),
      uptimeEstimate: Long.fromNumber(Math.floor(uptimeMillis / 1000)),
      localTime: now,
      connections: { current: connections.current, available: 1_000_000 - connections.current, totalCreated: connections.totalCreated, active: connections.active },
      opcounters: { ...server.operationCounters },
      // mongod's units (MB). `resident` includes the pages of the page log's memory map the
      // server touched (`disagg.pageLog.mappedBytes` bounds them); the heap figures do not.
      mem: {
        bits: 64, resident: Math.round(memory.rss / 1048576), virtual: 0, supported: true,
        heapUsed: Math.round(memory.heapUsed / 1048576), heapTotal: Math.round(memory.heapTotal / 1048576),
        external: Math.round(memory.external / 1048576),
      },
      metrics: { cursor: { open: { total: Long.fromNumber(server.cursors.size) } } },
      storageEngine: { name: 'disagg-lab', supportsCommittedReads: true, persistent: true, backupCursorOpen: server.storage.backupCursorOpen },
      disagg: storageSection(server),
      wiredTiger: { cache: cacheSection(server) },
      // Journal syncs and the waits they served: `waiters` above `syncs` is group commit.
      journal: { enabled: server.storage.connection.journalStats() !== undefined, ...server.storage.connection.journalStats() },
      ...(server.options.replSet === undefined ? {} : {
        repl: server.storage.role === 'leader'
          ? { setName: server.options.replSet, isWritablePrimary: true, secondary: false, primary: server.hostAndPort, me: server.hostAndPort }
          : { setName: server.options.replSet, isWritablePrimary: false, secondary: true, me: server.hostAndPort },
      }),
    };
  },
});
