import { BSON, Long } from 'mongodb';
import type { SeededRandom } from '../libs/seeded_random.js';

/**
 * Malformed and hostile wire messages, generated from a seed. Each kind stresses one part of
 * the server's input handling: framing (lengths), BSON parsing (truncation, inner lengths,
 * flipped bytes, nesting), OP_MSG structure (flags, sections), op codes, command arguments
 * (types, sizes, batch sizes), and the connection itself (slow senders, half-closed and idle
 * connections).
 */

const opMsg = 2013;
const opQuery = 2004;
const headerSize = 16;
/** The server's largest accepted message (mongod's 48 MB). */
const maximumMessageSize = 48_000_000;

/** How the bytes go out on the connection. */
export type Delivery =
  /** All chunks at once. */
  | 'whole'
  /** One byte at a time with a pause between bytes. */
  | 'dribble'
  /** All chunks, then a FIN (half-close): the server sees the end of its input. */
  | 'half-close'
  /** Connect and send nothing. */
  | 'idle'
  /** All chunks at once, then never read: the replies pile up on the server's side. */
  | 'never-read';

export interface FuzzMessage {
  kind: string;
  /** A finer label for the report (e.g. which length). */
  variant: string;
  bytes: Buffer;
  delivery: Delivery;
  /** Pause between bytes for `dribble`. */
  dribbleDelayMs?: number;
  /** How long to wait for the server once everything is sent. */
  waitMs: number;
}

// ---------------------------------------------------------------------------------------------
// Raw encoders: enough BSON to build documents js-bson would refuse to produce.

/** A message: the 16-byte header (declared length, request id, response to, op code) and body. */
export function wireMessage(opCode: number, body: Buffer, declaredLength?: number, requestId = 1): Buffer {
  const header = Buffer.alloc(headerSize);
  header.writeInt32LE(declaredLength ?? headerSize + body.length, 0);
  header.writeInt32LE(requestId, 4);
  header.writeInt32LE(0, 8);
  header.writeInt32LE(opCode, 12);
  return Buffer.concat([header, body]);
}

/** An OP_MSG body: flag bits, then sections (kind 0: a document; kind 1: a sequence). */
export function opMsgBody(flags: number, sections: Buffer[]): Buffer {
  const flagBytes = Buffer.alloc(4);
  flagBytes.writeUInt32LE(flags >>> 0, 0);
  return Buffer.concat([flagBytes, ...sections]);
}

export function bodySection(document: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0]), document]);
}

export function sequenceSection(identifier: string, documents: Buffer[], declaredSize?: number): Buffer {
  const name = Buffer.from(identifier + '\0');
  const size = Buffer.alloc(4);
  size.writeInt32LE(declaredSize ?? 4 + name.length + documents.reduce((sum, document) => sum + document.length, 0), 0);
  return Buffer.concat([Buffer.from([1]), size, name, ...documents]);
}

export function commandMessage(command: Record<string, unknown>, flags = 0): Buffer {
  return wireMessage(opMsg, opMsgBody(flags, [bodySection(Buffer.from(BSON.serialize(command)))]));
}

/** A BSON element: type byte, NUL-terminated name, value bytes. */
export function element(type: number, name: string, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([type]), Buffer.from(name + '\0'), value]);
}

/** A BSON document from elements (length prefix, elements, trailing NUL). */
export function document(elements: Buffer[], declaredLength?: number): Buffer {
  const body = Buffer.concat(elements);
  const out = Buffer.alloc(4 + body.length + 1);
  out.writeInt32LE(declaredLength ?? out.length, 0);
  body.copy(out, 4);
  return out;
}

export function int32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeInt32LE(value, 0);
  return out;
}

export function string(value: string): Buffer {
  const bytes = Buffer.from(value + '\0');
  return Buffer.concat([int32(bytes.length), bytes]);
}

/** `{a: {a: ... {}}}` (or arrays `[[...]]`) `depth` levels deep, built without recursion. */
export function nested(depth: number, asArray = false): Buffer {
  let inner = document([]);
  for (let level = 0; level < depth; level++) inner = document([element(asArray ? 4 : 3, asArray ? '0' : 'a', inner)]);
  return inner;
}

/** `{$and: [{$and: [... {x: 1}]}]}` `depth` levels deep: a filter the matcher walks recursively. */
function nestedAnd(depth: number): Buffer {
  let filter = document([element(0x10, 'x', int32(1))]);
  for (let level = 0; level < depth; level++) filter = document([element(4, '$and', document([element(3, '0', filter)]))]);
  return filter;
}

/** The command document `{<name>: <first>, ...rest, $db}` with raw elements. */
function rawCommand(name: string, first: Buffer, firstType: number, rest: Buffer[], db = 'fuzz'): Buffer {
  return document([element(firstType, name, first), ...rest, element(2, '$db', string(db))]);
}

// ---------------------------------------------------------------------------------------------
// The kinds.

type Generator = (random: SeededRandom) => Omit<FuzzMessage, 'kind'>;

/** Waits: short when the server is expected to close or answer at once. */
const quick = 300;
const incomplete = 150;

function validPing(random: SeededRandom): Buffer {
  return commandMessage({ ping: 1, $db: 'admin', comment: random.below(1000) });
}

const kinds: Record<string, [number, Generator]> = {
  garbage: [6, (random) => ({ variant: 'random bytes', bytes: random.bytes(random.between(1, 2000)), delivery: 'whole', waitMs: quick })],

  badLength: [8, (random) => {
    const length = random.pick([-1, -2_147_483_648, 0, 1, 4, 15, maximumMessageSize + 1, 2_147_483_647, random.between(maximumMessageSize + 1, 2_000_000_000)]);
    const payload = random.bytes(random.between(0, 64));
    return { variant: `length ${length}`, bytes: wireMessage(opMsg, payload, length), delivery: 'whole', waitMs: quick };
  }],

  lengthTooLong: [5, (random) => {
    const message = validPing(random);
    const extra = random.pick([1, 7, 1000, 1_000_000, 40_000_000]);
    message.writeInt32LE(message.length + extra, 0);
    return { variant: `declared ${extra} bytes too many`, bytes: message, delivery: 'whole', waitMs: incomplete };
  }],

  lengthTooShort: [5, (random) => {
    const message = validPing(random);
    const declared = random.between(headerSize, message.length - 1);
    message.writeInt32LE(declared, 0);
    return { variant: `declared ${message.length - declared} bytes too few`, bytes: message, delivery: 'whole', waitMs: quick };
  }],

  truncatedBson: [8, (random) => {
    const body = Buffer.from(BSON.serialize({ find: 'c', filter: { a: random.below(100), s: 'text'.repeat(random.between(1, 20)) }, $db: 'fuzz' }));
    const cut = body.subarray(0, random.between(0, body.length - 1));
    return { variant: `body cut to ${cut.length} of ${body.length} bytes`, bytes: wireMessage(opMsg, opMsgBody(0, [bodySection(cut)])), delivery: 'whole', waitMs: quick };
  }],

  bsonInnerLength: [6, (random) => {
    const declared = random.pick([-1, 0, 4, 5, 6, 1_000, 0x7fffffff, 20]);
    const raw = rawCommand('ping', int32(1), 0x10, [element(3, 'inner', document([element(2, 's', string('value'))], declared))], 'admin');
    return { variant: `inner document length ${declared}`, bytes: wireMessage(opMsg, opMsgBody(0, [bodySection(raw)])), delivery: 'whole', waitMs: quick };
  }],

  bsonFlippedBytes: [10, (random) => {
    const body = Buffer.from(BSON.serialize({ insert: 'flipped', documents: [{ _id: random.below(1_000_000), v: 'value', n: 1.5, arr: [1, 2, { x: null }] }], $db: 'fuzz' }));
    const flips = random.between(1, 4);
    for (let index = 0; index < flips; index++) {
      const at = random.below(body.length);
      body[at] = body[at]! ^ (1 << random.below(8));
    }
    return { variant: `${flips} flipped bits`, bytes: wireMessage(opMsg, opMsgBody(0, [bodySection(body)])), delivery: 'whole', waitMs: quick };
  }],

  bsonBadTypes: [4, (random) => {
    const type = random.pick([0x00, 0x06, 0x0c, 0x0e, 0x14, 0x20, 0x7e, 0x80, 0xfe]);
    const raw = rawCommand('ping', int32(1), 0x10, [element(type, 'odd', random.bytes(random.between(0, 16)))], 'admin');
    return { variant: `element type 0x${type.toString(16)}`, bytes: wireMessage(opMsg, opMsgBody(0, [bodySection(raw)])), delivery: 'whole', waitMs: quick };
  }],

  deepNesting: [3, (random) => {
    const depth = random.pick([100, 150, 500, 2000, 5000]);
    const target = random.pick(['ping field', 'ping array', 'find filter', 'insert document', 'insert _id'] as const);
    let raw: Buffer;
    if (target === 'ping field' || target === 'ping array') {
      raw = rawCommand('ping', int32(1), 0x10, [element(target === 'ping array' ? 4 : 3, 'deep', nested(depth, target === 'ping array'))], 'admin');
    } else if (target === 'find filter') {
      raw = rawCommand('find', string('c'), 2, [element(3, 'filter', nestedAnd(depth))]);
    } else {
      const inner = target === 'insert _id' ? element(3, '_id', nested(depth)) : Buffer.concat([element(0x10, '_id', int32(random.below(1_000_000))), element(3, 'deep', nested(depth))]);
      raw = rawCommand('insert', string('deep'), 2, [element(4, 'documents', document([element(3, '0', document([inner]))]))]);
    }
    return { variant: `${target}, depth ${depth}`, bytes: wireMessage(opMsg, opMsgBody(0, [bodySection(raw)])), delivery: 'whole', waitMs: 2000 };
  }],

  hugeBatch: [6, (random) => {
    const huge = random.pick([2_147_483_647, -1, -2_147_483_648, 0, 1e15]);
    const variant = random.pick(['find batchSize', 'find limit', 'getMore batchSize', 'aggregate batchSize', 'insert many', 'OP_QUERY numberToReturn'] as const);
    let bytes: Buffer;
    if (variant === 'find batchSize') bytes = commandMessage({ find: 'c', batchSize: huge, $db: 'fuzz' });
    else if (variant === 'find limit') bytes = commandMessage({ find: 'c', limit: huge, skip: huge, $db: 'fuzz' });
    else if (variant === 'getMore batchSize') bytes = commandMessage({ getMore: Long.fromNumber(random.between(1, 1_000_000)), collection: 'c', batchSize: huge, $db: 'fuzz' });
    else if (variant === 'aggregate batchSize') bytes = commandMessage({ aggregate: 'c', pipeline: [{ $limit: huge }], cursor: { batchSize: huge }, $db: 'fuzz' });
    else if (variant === 'insert many') {
      const count = random.pick([10_000, 50_000, 100_001]);
      // One _id for all: the server parses every document, but stores at most one.
      const documents = Array.from({ length: count }, (_, index) => Buffer.from(BSON.serialize({ _id: 'same', i: index })));
      bytes = wireMessage(opMsg, opMsgBody(0, [bodySection(Buffer.from(BSON.serialize({ insert: 'many', ordered: true, $db: 'fuzz' }))), sequenceSection('documents', documents)]));
      return { variant: `insert of ${count} documents`, bytes, delivery: 'whole', waitMs: 3000 };
    } else {
      const query = Buffer.concat([int32(0), Buffer.from('fuzz.c\0'), int32(0), int32(Number.isFinite(huge) && Math.abs(huge) < 2 ** 31 ? huge : 2_147_483_647), Buffer.from(BSON.serialize({ isMaster: 1 }))]);
      bytes = wireMessage(opQuery, query);
    }
    return { variant: `${variant} ${huge}`, bytes, delivery: 'whole', waitMs: quick };
  }],

  unknownOpCode: [5, (random) => {
    let code = random.between(-100, 3000);
    if (code === opMsg || code === opQuery) code = 4242;
    return { variant: `op code ${code}`, bytes: wireMessage(code, random.bytes(random.between(0, 100))), delivery: 'whole', waitMs: quick };
  }],

  legacyOpCode: [4, (random) => {
    const code = random.pick([1, 2001, 2002, 2005, 2006, 2007, 2010, 2011, 2012]);
    return { variant: `op code ${code}`, bytes: wireMessage(code, Buffer.concat([int32(0), Buffer.from('fuzz.c\0'), Buffer.from(BSON.serialize({ x: 1 }))])), delivery: 'whole', waitMs: quick };
  }],

  opMsgFlags: [5, (random) => {
    const flags = random.pick([1, 4, 0x100, 0x8000, 0x10000, 0x20000, 0xffffffff, random.below(0x100000000)]);
    return { variant: `flags 0x${(flags >>> 0).toString(16)}`, bytes: commandMessage({ ping: 1, $db: 'admin' }, flags), delivery: 'whole', waitMs: quick };
  }],

  sections: [6, (random) => {
    const ping = Buffer.from(BSON.serialize({ ping: 1, $db: 'admin' }));
    const variant = random.pick(['two bodies', 'no body', 'sequence size past the end', 'sequence size zero', 'identifier without NUL', 'unknown kind', 'empty sequence', 'sequence of garbage'] as const);
    let sections: Buffer[];
    switch (variant) {
      case 'two bodies': sections = [bodySection(ping), bodySection(ping)]; break;
      case 'no body': sections = [sequenceSection('documents', [Buffer.from(BSON.serialize({ a: 1 }))])]; break;
      case 'sequence size past the end': sections = [bodySection(ping), sequenceSection('documents', [Buffer.from(BSON.serialize({ a: 1 }))], 100_000)]; break;
      case 'sequence size zero': sections = [bodySection(ping), sequenceSection('documents', [], 0)]; break;
      case 'identifier without NUL': sections = [bodySection(ping), Buffer.concat([Buffer.from([1]), int32(13), Buffer.from('documents')])]; break;
      case 'unknown kind': sections = [bodySection(ping), Buffer.from([random.between(2, 255)]), random.bytes(8)]; break;
      case 'empty sequence': sections = [bodySection(Buffer.from(BSON.serialize({ insert: 'c', $db: 'fuzz' }))), sequenceSection('documents', [])]; break;
      default: sections = [bodySection(Buffer.from(BSON.serialize({ insert: 'c', $db: 'fuzz' }))), sequenceSection('documents', [random.bytes(random.between(1, 40))])];
    }
    return { variant, bytes: wireMessage(opMsg, opMsgBody(0, sections)), delivery: 'whole', waitMs: quick };
  }],

  hostileCommand: [12, (random) => {
    const commands: [string, () => Record<string, unknown>][] = [
      ['unknown command', () => ({ [`noSuchCommand${random.below(100)}`]: 1, $db: 'fuzz' })],
      ['missing $db', () => ({ ping: 1 })],
      ['$db of the wrong type', () => ({ ping: 1, $db: 42 })],
      ['odd database name', () => ({ find: 'c', $db: random.pick(['', 'a.b', 'a/b', '..', 'x\u0000y', 'z'.repeat(200), '$', 'WiredTiger']) })],
      ['odd collection name', () => ({ insert: random.pick(['', '$x', 'a\u0000b', '../x', '/abs', 'a\\b', 'system.x', '.x', 'c'.repeat(300)]), documents: [{ a: 1 }], $db: 'fuzz' })],
      ['wrong argument types', () => ({ find: random.pick([1, null, [], {}, true]), filter: random.pick(['string', 5, [], null]), sort: 'x', projection: 7, $db: 'fuzz' })],
      ['insert documents not an array', () => ({ insert: 'c', documents: random.pick(['x', 5, { a: 1 }, null]), $db: 'fuzz' })],
      ['update with bad operators', () => ({ update: 'c', updates: [{ q: {}, u: { $bogus: { a: 1 }, $set: 'x' }, multi: 'yes' }], $db: 'fuzz' })],
      ['aggregate with bad stages', () => ({ aggregate: 'c', pipeline: [{ $nope: 1 }, { $group: { _id: { $add: ['$a', 'x'] } } }], cursor: {}, $db: 'fuzz' })],
      ['killCursors of foreign ids', () => ({ killCursors: 'c', cursors: [Long.MAX_VALUE, Long.fromNumber(-1), Long.ZERO], $db: 'fuzz' })],
      ['getMore of a bogus cursor', () => ({ getMore: Long.fromNumber(random.between(1, 2 ** 40)), collection: 'c', $db: 'fuzz' })],
      ['many fields', () => Object.fromEntries([['ping', 1], ...Array.from({ length: random.pick([1000, 20_000]) }, (_, index) => [`f${index}`, index]), ['$db', 'admin']])],
      ['long field name', () => ({ ping: 1, ['k'.repeat(random.pick([10_000, 1_000_000]))]: 1, $db: 'admin' })],
      ['server-side JavaScript', () => ({ find: 'c', filter: { $where: 'while(true){}' }, $db: 'fuzz' })],
      ['invalid regex', () => ({ find: 'c', filter: { a: { $regex: random.pick(['(', '[', '*', '(?<', '\\']) } }, $db: 'fuzz' })],
      ['fsync lock with bad fields', () => ({ fsync: 1, lock: 'please', bogus: 1, $db: 'admin' })],
      ['shutdown from a non-admin database', () => ({ shutdown: 1, $db: 'fuzz' })],
      ['test command without test commands', () => ({ rotateKey: 1, checkpoint: true, $db: 'admin' })],
      ['repair command without repair commands', () => ({ repairMetadata: 1, action: 'detect', $db: 'admin' })],
    ];
    const [variant, build] = random.pick(commands);
    return { variant, bytes: commandMessage(build()), delivery: 'whole', waitMs: quick };
  }],

  slowSender: [3, (random) => {
    const bytes = random.chance(0.7) ? validPing(random) : random.bytes(random.between(5, 40));
    return { variant: bytes.length > 40 ? 'valid ping, byte by byte' : 'garbage, byte by byte', bytes, delivery: 'dribble', dribbleDelayMs: random.between(1, 4), waitMs: quick };
  }],

  halfOpen: [6, (random) => {
    const message = validPing(random);
    const variant = random.pick(['FIN after half a message', 'FIN after a whole message', 'FIN after a header', 'FIN at once'] as const);
    const bytes = variant === 'FIN after half a message' ? message.subarray(0, Math.floor(message.length / 2)) : variant === 'FIN after a whole message' ? message : variant === 'FIN after a header' ? message.subarray(0, headerSize) : Buffer.alloc(0);
    return { variant, bytes: Buffer.from(bytes), delivery: 'half-close', waitMs: quick };
  }],

  idle: [2, (random) => ({ variant: 'connect and send nothing', bytes: Buffer.alloc(0), delivery: 'idle', waitMs: random.between(50, 200) })],

  pipelined: [4, (random) => {
    const messages = [validPing(random), validPing(random), random.chance(0.5) ? random.bytes(random.between(16, 64)) : validPing(random)];
    return { variant: `${messages.length} messages in one write`, bytes: Buffer.concat(messages), delivery: 'whole', waitMs: quick };
  }],

  neverRead: [1, (random) => {
    // `fuzz.big` holds 4 documents of 1 MB (see wire_fuzz.ts): each find answers with 4 MB.
    const count = random.between(2, 10);
    const requests = Array.from({ length: count }, () => commandMessage({ find: 'big', filter: {}, $db: 'fuzz' }));
    return { variant: `${count} finds of 4 MB, replies never read`, bytes: Buffer.concat(requests), delivery: 'never-read', waitMs: quick };
  }],

  largeMessage: [1, (random) => {
    // Built raw: past 16 MB the document is over BSON's limit, which js-bson will not produce.
    const size = random.pick([1, 4, 12, 17]) * 1_000_000;
    const raw = rawCommand('ping', int32(1), 0x10, [element(2, 'padding', string('x'.repeat(size)))], 'admin');
    return { variant: `ping padded to ${size / 1_000_000} MB`, bytes: wireMessage(opMsg, opMsgBody(0, [bodySection(raw)])), delivery: 'whole', waitMs: 3000 };
  }],
};

/** One message, its kind drawn by weight. */
export function generateFuzzMessage(random: SeededRandom): FuzzMessage {
  const kind = random.weighted(Object.entries(kinds).map(([name, [weight]]) => [weight, name] as const));
  return { kind, ...kinds[kind]![1](random) };
}
