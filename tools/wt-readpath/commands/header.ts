import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  BLOCK_MAGIC, BLOCK_MAJOR, BLOCK_MINOR, BLOCK_PAYLOAD_OFFSET, checksumWithZeroedField, hex32, readDescriptor, readPageHeader,
} from '../../../engine/format/index.js';
import { FileSource } from '../../../engine/verify/index.js';
import { ExitCode, UsageError, type ExitCodeValue, type Output } from '../output.js';
import { blockChecksumStatus, describePageHeader } from '../page_decode.js';

/** `header`'s options (it reads one file, not a home). */
export interface HeaderCommandOptions {
  json?: boolean;
  allocationSize?: string;
  count?: string;
}

/**
 * `header FILE.wt`: the descriptor block and the headers of the first blocks. Exit 0 when the
 * descriptor is valid, 2 when it is not.
 */
export async function headerCommand(fileArgument: string, options: HeaderCommandOptions, output: Output): Promise<ExitCodeValue> {
  const path = resolve(fileArgument);
  if (!existsSync(path) || !statSync(path).isFile()) throw new UsageError(`${fileArgument} does not exist or is not a file`);
  const allocationSize = Number(options.allocationSize ?? 4096);
  if (!Number.isInteger(allocationSize) || allocationSize < 512 || (allocationSize & (allocationSize - 1)) !== 0) {
    throw new UsageError(`--allocation-size must be a power of two of at least 512, not "${options.allocationSize}"`);
  }
  const count = Number(options.count ?? 10);
  if (!Number.isInteger(count) || count < 0) throw new UsageError(`--count takes a non-negative integer, not "${options.count}"`);
  const source = new FileSource(path, fileArgument, allocationSize);
  try {
    const unit = source.readBytes(0, allocationSize);
    const problems: string[] = [];
    let descriptor: Record<string, unknown> | null = null;
    if (unit.length < 16) {
      problems.push(`file is ${source.size} bytes, too short for a descriptor`);
    } else {
      const fields = readDescriptor(unit);
      const computed = unit.length === allocationSize ? checksumWithZeroedField(unit, 8) : undefined;
      descriptor = { magic: fields.magic, major: fields.major, minor: fields.minor, checksum: hex32(fields.checksum), computedChecksum: computed === undefined ? null : hex32(computed), unused: fields.unused };
      if (fields.magic !== BLOCK_MAGIC) problems.push(`magic ${fields.magic} is not ${BLOCK_MAGIC}: not a WiredTiger file`);
      if (fields.major > BLOCK_MAJOR || (fields.major === BLOCK_MAJOR && fields.minor > BLOCK_MINOR)) problems.push(`version ${fields.major}.${fields.minor} is newer than ${BLOCK_MAJOR}.${BLOCK_MINOR}`);
      if (computed === undefined) problems.push(`file is shorter than its ${allocationSize}-byte descriptor block`);
      else if (computed !== fields.checksum) problems.push(`descriptor checksum ${hex32(fields.checksum)} does not match (computed ${hex32(computed)}; allocation size ${allocationSize})`);
      if (fields.unused !== 0) problems.push('descriptor unused field is not 0');
    }
    const blocks: Array<Record<string, unknown>> = [];
    for (let offset = allocationSize; offset + BLOCK_PAYLOAD_OFFSET <= source.size && blocks.length < count;) {
      const head = source.readBytes(offset, BLOCK_PAYLOAD_OFFSET);
      if (head.every((b) => b === 0)) {
        offset += allocationSize;
        continue;
      }
      const header = readPageHeader(head);
      const diskSize = head.readUInt32LE(28);
      const view: Record<string, unknown> = { offset, ...describePageHeader(header), diskSize };
      if (diskSize >= BLOCK_PAYLOAD_OFFSET && diskSize % allocationSize === 0 && offset + diskSize <= source.size) {
        const status = blockChecksumStatus(source.readBytes(offset, diskSize));
        view.checksum = status.stored;
        view.checksumOk = status.ok;
        view.blockFlags = status.flags;
        offset += diskSize;
      } else {
        view.checksumOk = null;
        offset += allocationSize;
      }
      blocks.push(view);
    }
    if (output.json) {
      output.document({ file: fileArgument, size: source.size, allocationSize, descriptor, valid: problems.length === 0, problems, blocks });
    } else {
      output.line(`${fileArgument}: ${source.size} bytes, allocation size ${allocationSize}`);
      if (descriptor) {
        output.line(`descriptor: magic ${descriptor.magic}, version ${descriptor.major}.${descriptor.minor}, checksum ${descriptor.checksum} (${problems.length === 0 ? 'ok' : `computed ${descriptor.computedChecksum}`}), unused ${descriptor.unused}`);
      }
      for (const b of blocks) {
        const ok = b.checksumOk === null ? 'size invalid' : b.checksumOk ? 'ok' : 'MISMATCH';
        output.line(`block at ${b.offset}: type ${b.type} (${b.typeName}), write gen ${b.writeGen}, mem size ${b.memSize}, entries ${b.entries}, flags 0x${(b.flags as number).toString(16)}, version ${b.version}, disk size ${b.diskSize}, checksum ${b.checksum ?? '-'} (${ok})`);
      }
      for (const problem of problems) output.diagnostic(`wt-readpath header: ${problem}`);
    }
    return problems.length === 0 ? ExitCode.Clean : ExitCode.Corruption;
  } finally {
    source.close();
  }
}
