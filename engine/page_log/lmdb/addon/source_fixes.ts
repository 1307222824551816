/**
 * The changes the page log's build of LMDB makes to the LMDB that lmdb-js ships
 * (`dependencies/lmdb/libraries/liblmdb/mdb.c` of the `lmdb` package). Each is one or more exact
 * pieces of that file and their replacements; a source where a piece is not found as many
 * times as it says (once, unless it says otherwise) fails the build, so a new lmdb release is
 * looked at before it is built (README.md).
 *
 * The first two are races between processes that share one environment: a leader committing
 * while followers, inspectors and tools open and close the same store. The third makes a
 * damaged page an error (`MDB_CORRUPTED`) instead of an abort of the process.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SourceFix {
  /** A name for the stamp of the build and for messages. */
  name: string;
  /** The file, relative to the lmdb package. */
  file: string;
  pieces: readonly SourcePiece[];
}

/** Text of the file, each of its `count` (default 1) occurrences replaced by `replace`. */
export interface SourcePiece {
  find: string;
  replace: string;
  count?: number;
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
    pieces: [{
      find: '\tif (env->me_txns)\n\t\tenv->me_txns->mti_txnid = meta.mm_txnid;\n',
      replace: '\tif (prev && env->me_txns)\n\t\tenv->me_txns->mti_txnid = meta.mm_txnid;\n',
    }],
  },
  {
    // The last process to close the store destroyed the lock file's shared mutexes. A process
    // that was opening meanwhile waits for its shared file lock while the closer holds the
    // exclusive one, then finds itself not the first and uses the destroyed mutexes: EINVAL at
    // its first transaction. Robust mutexes in a shared file hold nothing to release, and the
    // next first opener initialises them again.
    name: 'close-keeps-shared-mutexes',
    file: MDB_C,
    pieces: [{
      find:
        '\t\tif (excl == 0)\n' +
        '\t\t\tmdb_env_excl_lock(env, &excl);\n' +
        '\t\tif (excl > 0) {\n' +
        '\t\t\tpthread_mutex_destroy(env->me_txns->mti_rmutex);\n' +
        '\t\t\tpthread_mutex_destroy(env->me_txns->mti_wmutex);\n' +
        '\t\t\tpthread_mutex_destroy(env->me_txns->mti_sync_mutex);\n' +
        '\t\t}\n',
      replace: '\t\t/* The shared mutexes are left to the next first opener. */\n',
    }],
  },
  {
    // LMDB keeps no checksums and trusts every page a tree points to: a page zeroed or
    // overwritten on disk tripped one of its assertions (an abort of the whole process, a
    // server or a read-path tool, by SIGABRT) or was read as whatever it held. Every page LMDB
    // writes carries its own number, so a page fetched from the map whose number is not the
    // one asked for is damaged; and a page the search reaches that is not the kind its place in
    // the tree says (a leaf under the last branch, branches with at least two keys) is damaged
    // too. Both are MDB_CORRUPTED and fail the transaction, as LMDB's own check of a search's
    // last page does, and the page log reports them as corruption.
    name: 'damaged-pages-are-errors',
    file: MDB_C,
    pieces: [
      {
        find: '#define mdb_eassert(env, expr)\tmdb_assert0(env, expr, #expr)\n',
        replace:
          '#define mdb_eassert(env, expr)\tmdb_assert0(env, expr, #expr)\n' +
          '/* In a function that returns an error code: a damaged page unless expr holds. */\n' +
          '#define mdb_cdamaged_unless(mc, expr) do { if (!(expr)) { \\\n' +
          '\t(mc)->mc_txn->mt_flags |= MDB_TXN_ERROR; return MDB_CORRUPTED; } } while (0)\n',
      },
      {
        find: 'done:\n\t*ret = p;\n\treturn MDB_SUCCESS;\n',
        replace:
          '\tif (p->mp_pgno != pgno) {\n' +
          '\t\ttxn->mt_flags |= MDB_TXN_ERROR;\n' +
          '\t\treturn MDB_CORRUPTED;\n' +
          '\t}\n' +
          'done:\n\t*ret = p;\n\treturn MDB_SUCCESS;\n',
      },
      { find: '\tmdb_cassert(mc, IS_LEAF(mp));\n', replace: '\tmdb_cdamaged_unless(mc, IS_LEAF(mp));\n', count: 3 },
      { find: '\tmdb_cassert(mc, IS_LEAF(mc->mc_pg[mc->mc_top]));\n', replace: '\tmdb_cdamaged_unless(mc, IS_LEAF(mc->mc_pg[mc->mc_top]));\n', count: 2 },
      { find: '\t\tmdb_cassert(mc, !mc->mc_dbi || NUMKEYS(mp) > 1);\n', replace: '\t\tmdb_cdamaged_unless(mc, !mc->mc_dbi || NUMKEYS(mp) > 1);\n' },
      { find: '\t\tmdb_cassert(mc, i < NUMKEYS(mp));\n', replace: '\t\tmdb_cdamaged_unless(mc, i < NUMKEYS(mp));\n' },
      { find: '\tmdb_cassert(mc, i > 0);\n', replace: '\tmdb_cdamaged_unless(mc, i > 0);\n' },
      { find: '\tmdb_cassert(mc, root > 1);\n', replace: '\tmdb_cdamaged_unless(mc, root > 1);\n' },
    ],
  },
];

/** Applies every fix to the copy of the lmdb package's sources in `directory`. */
export function applySourceFixes(directory: string): void {
  for (const fix of LMDB_SOURCE_FIXES) {
    const path = join(directory, fix.file);
    let source = readFileSync(path, 'utf8');
    for (const [index, { find, replace, count = 1 }] of fix.pieces.entries()) {
      const found = source.split(find).length - 1;
      if (found !== count) {
        throw new Error(`${fix.file}: piece ${index + 1} of fix ${fix.name} is found ${found} times instead of ${count === 1 ? 'once' : `${count} times`}; see engine/page_log/lmdb/addon/README.md`);
      }
      source = source.split(find).join(replace);
    }
    writeFileSync(path, source);
  }
}
