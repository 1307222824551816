/** Transactions: a session's view of the data and its pending writes (see README.md). */
export { TransactionView, type TreeSource, type WriteKind } from './transaction.js';
