/**
 * The changes the page log's build of LMDB makes to the LMDB that lmdb-js ships
 * (`dependencies/lmdb/libraries/liblmdb/mdb.c` of the `lmdb` package). Each is an exact piece of
 * that file and its replacement; a source where a piece is not found exactly once fails the
 * build, so a new lmdb release is looked at before it is built (README.md).
 *
 * Both are races between processes that share one environment: a leader committing while
 * followers, inspectors and tools open and close the same store.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SourceFix {
  /** A name for the stamp of the build and for messages. */
  name: string;
  /** The file, relative to the lmdb package. */
  file: string;
  find: string;
  replace: string;
}

const MDB_C = 'dependencies/lmdb/libraries/liblmdb/mdb.c';

export const LMDB_SOURCE_FIXES: readonly SourceFix[] = [
  {
    // Every open wrote the transaction id of the meta page it had read into the lock file's
    // shared `mti_txnid`, which writers begin from, even while other processes had the store
    // open. A commit between that read and that write set the shared id back: the next writer
    // began from the older meta page, rewrote the newer one and reused pages still in use
    // (lost commits, MDB_BAD_TXN "mdb_page_touch no parent"). An open of the first process sets
    // the id in `mdb_env_share_locks`; only the open of a previous snapshot still needs it here.
    name: 'open-keeps-shared-txnid',
    file: MDB_C,
    find: '\tif (env->me_txns)\n\t\tenv->me_txns->mti_txnid = meta.mm_txnid;\n',
    replace: '\tif (prev && env->me_txns)\n\t\tenv->me_txns->mti_txnid = meta.mm_txnid;\n',
  },
  {
    // The last process to close the store destroyed the lock file's shared mutexes. A process
    // that was opening meanwhile waits for its shared file lock while the closer holds the
    // exclusive one, then finds itself not the first and uses the destroyed mutexes: EINVAL at
    // its first transaction. Robust mutexes in a shared file hold nothing to release, and the
    // next first opener initialises them again.
    name: 'close-keeps-shared-mutexes',
    file: MDB_C,
    find:
      '\t\tif (excl == 0)\n' +
      '\t\t\tmdb_env_excl_lock(env, &excl);\n' +
      '\t\tif (excl > 0) {\n' +
      '\t\t\tpthread_mutex_destroy(env->me_txns->mti_rmutex);\n' +
      '\t\t\tpthread_mutex_destroy(env->me_txns->mti_wmutex);\n' +
      '\t\t\tpthread_mutex_destroy(env->me_txns->mti_sync_mutex);\n' +
      '\t\t}\n',
    replace: '\t\t/* The shared mutexes are left to the next first opener. */\n',
  },
];

/** Applies every fix to the copy of the lmdb package's sources in `directory`. */
export function applySourceFixes(directory: string): void {
  for (const fix of LMDB_SOURCE_FIXES) {
    const path = join(directory, fix.file);
    const source = readFileSync(path, 'utf8');
    const found = source.split(fix.find).length - 1;
    if (found !== 1) {
      throw new Error(`${fix.file}: the source of fix ${fix.name} is found ${found} times instead of once; see engine/page_log/lmdb/addon/README.md`);
    }
    writeFileSync(path, source.replace(fix.find, () => fix.replace));
  }
}
