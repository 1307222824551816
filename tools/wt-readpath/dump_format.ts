import { escapeForDump, parseConfig, PRINTED_AS_IS } from '../../engine/format/index.js';
import type { HomeReader, LeafRecords, MetadataEntry } from '../../engine/verify/index.js';

/**
 * `wt dump`'s text format: the header `wt dump` prints, the creation configuration it
 * reproduces, and records escaped the way its print and hex formats escape them.
 */

/** The version `wt dump` names in its first line: the format these homes use. */
export const DUMP_VERSION = '12.0.0';

/**
 * `WT_SESSION::create`'s default configuration in WiredTiger 12.0.0, in its key order. `wt dump`
 * prints, for each of these keys, the last value found in this string, the file entry, the
 * column group entry and the table entry, in that order (`__schema_create_collapse` and
 * `__wt_config_collapse`); keys the defaults do not have are dropped, nested groups are not merged.
 */
export const CREATE_DEFAULTS = [
  'access_pattern_hint=none', 'allocation_size=4KB', 'app_metadata=',
  'assert=(commit_timestamp=none,durable_timestamp=none,read_timestamp=none,write_timestamp=off)',
  'block_allocation=best', 'block_compressor=', 'cache_resident=false', 'checksum=on', 'colgroups=', 'collator=',
  'columns=', 'dictionary=0', 'encryption=(keyid=,name=)', 'exclusive=false', 'format=btree', 'huffman_key=',
  'huffman_value=', 'ignore_in_memory_cache_size=false', 'immutable=false',
  'import=(compare_timestamp=oldest_timestamp,enabled=false,file_metadata=,metadata_file=,panic_corrupt=true,repair=false)',
  'internal_item_max=0', 'internal_key_max=0', 'internal_key_truncate=true', 'internal_page_max=4KB', 'key_format=u',
  'key_gap=10', 'leaf_item_max=0', 'leaf_key_max=0', 'leaf_page_max=32KB', 'leaf_value_max=0', 'log=(enabled=true)',
  'memory_page_image_max=0', 'memory_page_max=5MB', 'os_cache_dirty_max=0', 'os_cache_max=0',
  'prefix_compression=false', 'prefix_compression_min=4', 'source=', 'split_deepen_min_child=0',
  'split_deepen_per_child=0', 'split_pct=90',
  'tiered_storage=(auth_token=,bucket=,bucket_prefix=,cache_directory=,local_retention=300,name=,object_target_size=0)',
  'type=file', 'value_format=u', 'verbose=[]', 'write_timestamp_usage=none',
].join(',');

/** Collapses configurations, least preferred first, onto the keys of the first (the defaults). */
export function collapseConfig(configs: readonly string[]): string {
  const [defaults, ...rest] = configs;
  const parsed = rest.map((c) => parseConfig(c));
  return parseConfig(defaults ?? '').map((entry) => {
    let raw = entry.raw;
    for (const config of parsed) for (const e of config) if (e.key === entry.key) raw = e.raw;
    return `${entry.key}=${raw}`;
  }).join(',');
}

/** The creation configuration `wt dump` prints for a table or file. */
export function creationConfig(reader: HomeReader, uri: string, file: MetadataEntry, table: MetadataEntry | undefined): string {
  const layers = [CREATE_DEFAULTS, file.value];
  if (table !== undefined) {
    const colgroup = reader.entry(`colgroup:${table.key.slice('table:'.length)}`);
    if (colgroup) layers.push(colgroup.value);
    layers.push(table.value);
  } else if (uri.startsWith('colgroup:')) {
    const colgroup = reader.entry(uri);
    if (colgroup) layers.push(colgroup.value);
  }
  return collapseConfig(layers);
}

/** The header lines of a dump: banner, format, `Header`, URI, configuration, `Data`. */
export function dumpHeader(uri: string, config: string, hex: boolean): string {
  return `WiredTiger Dump (WiredTiger Version ${DUMP_VERSION})\nFormat=${hex ? 'hex' : 'print'}\nHeader\n${uri}\n${config}\nData\n`;
}

/** A key or value as `wt dump` prints it. */
export function dumpItem(bytes: Uint8Array, hex: boolean): string {
  return hex ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex') : escapeForDump(bytes);
}

/** Bytes per output chunk of `DumpEncoder`. */
const DUMP_CHUNK_BYTES = 1 << 20;
const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;
/** The two lowercase hex digits of each byte, as character codes. */
const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');

/** Four bytes, each repeated in every byte of a 32-bit word. */
const EACH_BYTE = (b: number): number => (b * 0x01010101) | 0;

/**
 * Whether any of the four bytes of `word` is printed other than as itself: below 0x20, above
 * 0x7e, or a backslash (the exact "has a byte less than / more than / equal to" tests of
 * byte-wise arithmetic on a word).
 */
function needsEscape(word: number): boolean {
  const below = (word - EACH_BYTE(0x20)) & ~word;
  const above = (word + EACH_BYTE(0x01)) | word;
  const backslashes = word ^ EACH_BYTE(BACKSLASH);
  const backslash = (backslashes - EACH_BYTE(0x01)) & ~backslashes;
  return ((below | above | backslash) & EACH_BYTE(0x80)) !== 0;
}

/**
 * Records in `wt dump`'s text form, encoded straight into byte chunks (no string per item):
 * printable bytes are copied as they are, every other byte becomes `\xx`, exactly as
 * `escapeForDump` prints it. Each full chunk goes to `emit`, which owns it from then on.
 */
export class DumpEncoder {
  private chunk = Buffer.allocUnsafe(DUMP_CHUNK_BYTES);
  private chunkView = viewOf(this.chunk);
  private used = 0;

  constructor(
    private readonly hex: boolean,
    private readonly emit: (bytes: Buffer) => void,
  ) {}

  /** One record's two lines. */
  record(key: Uint8Array, value: Uint8Array): void {
    this.item(key, viewOf(key), 0, key.length);
    this.item(value, viewOf(value), 0, value.length);
  }

  /** The records of a leaf, two lines each, straight from their byte ranges. */
  leaf(leaf: LeafRecords): void {
    const { buffers, ranges } = leaf;
    const views = buffers.map(viewOf);
    const fields = 2 * leaf.length;
    for (let i = 0; i < fields; i++) {
      const at = 3 * i;
      const buffer = ranges[at]!;
      this.item(buffers[buffer]!, views[buffer]!, ranges[at + 1]!, ranges[at + 2]!);
    }
  }

  /** Hands over what is buffered. */
  flush(): void {
    if (this.used === 0) return;
    this.emit(this.chunk.subarray(0, this.used));
    this.newChunk(DUMP_CHUNK_BYTES);
  }

  private newChunk(size: number): void {
    this.chunk = Buffer.allocUnsafe(size);
    this.chunkView = viewOf(this.chunk);
    this.used = 0;
  }

  /** `bytes[start, end)` (`view` is a view of `bytes`) as one line. */
  private item(bytes: Uint8Array, view: DataView, start: number, end: number): void {
    // At most three characters per byte (`\xx`), and the newline.
    const worst = (end - start) * 3 + 1;
    if (this.used + worst > this.chunk.length) {
      this.flush();
      if (worst > this.chunk.length) this.newChunk(worst);
    }
    const chunk = this.chunk;
    let used = this.used;
    let i = start;
    if (this.hex) {
      for (; i < end; i++) {
        const b = bytes[i]!;
        chunk[used++] = HEX_DIGITS[b >> 4]!;
        chunk[used++] = HEX_DIGITS[b & 15]!;
      }
    } else {
      // Four bytes at a time while they print as themselves (a word read and written, not
      // four table look-ups), then byte by byte from the first that does not.
      const chunkView = this.chunkView;
      for (; i + 4 <= end; i += 4) {
        const word = view.getInt32(i, true);
        if (needsEscape(word)) break;
        chunkView.setInt32(used, word, true);
        used += 4;
      }
      for (; i < end; i++) {
        const b = bytes[i]!;
        if (PRINTED_AS_IS[b] === 1) {
          chunk[used++] = b;
        } else if (b === BACKSLASH) {
          chunk[used++] = BACKSLASH;
          chunk[used++] = BACKSLASH;
        } else {
          chunk[used++] = BACKSLASH;
          chunk[used++] = HEX_DIGITS[b >> 4]!;
          chunk[used++] = HEX_DIGITS[b & 15]!;
        }
      }
    }
    chunk[used++] = NEWLINE;
    this.used = used;
  }
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The URI `wt dump` names: a bare name means `table:NAME`. */
export function dumpUri(uri: string): string {
  return uri.includes(':') ? uri : `table:${uri}`;
}
