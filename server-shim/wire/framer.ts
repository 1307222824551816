import { WireProtocolError } from './errors.js';
import { headerSize, maximumMessageSize } from './constants.js';
import { ErrorCodes } from '../errors/index.js';

/**
 * Cuts a byte stream into whole messages using the length in each header. It holds at most
 * one message plus the start of the next: a declared length is checked as soon as its four
 * bytes arrive, so an oversized or nonsensical length is refused before anything is buffered.
 */
export class MessageFramer {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly maximumSize: number = maximumMessageSize) {}

  /** Bytes held and not yet returned as a message. */
  get pendingBytes(): number {
    return this.buffered;
  }

  /**
   * Adds received bytes and returns the messages now complete, in order. Throws
   * `WireProtocolError` when a header declares an impossible length; the stream cannot be
   * resynchronized after that, so the caller closes the connection.
   */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const messages: Buffer[] = [];
    for (;;) {
      if (this.buffered < 4) break;
      const length = this.peekLength();
      if (length < headerSize) {
        throw new WireProtocolError(`message length ${length} is smaller than the ${headerSize}-byte header`, ErrorCodes.ProtocolError, 0);
      }
      if (length > this.maximumSize) {
        throw new WireProtocolError(`message length ${length} is over the maximum of ${this.maximumSize} bytes`, ErrorCodes.ProtocolError, 0);
      }
      if (this.buffered < length) break;
      messages.push(this.take(length));
    }
    return messages;
  }

  /** The first bytes held, for recognizing non-MongoDB clients (e.g. HTTP). */
  peek(count: number): Buffer {
    return this.gather(Math.min(count, this.buffered));
  }

  private peekLength(): number {
    return this.gather(4).readInt32LE(0);
  }

  /** The first `count` bytes without consuming them. */
  private gather(count: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= count) return first.subarray(0, count);
    const joined = Buffer.concat(this.chunks);
    this.chunks = [joined];
    return joined.subarray(0, count);
  }

  private take(count: number): Buffer {
    // A message within one received chunk is copied out of it (the chunk may hold the start of
    // the next one); one gathered from several chunks is already a copy of its own.
    const gathered = this.chunks[0]!.length < count;
    const bytes = gathered ? this.gather(count) : Buffer.from(this.gather(count));
    const first = this.chunks[0]!;
    if (first.length === count) this.chunks.shift();
    else this.chunks[0] = first.subarray(count);
    this.buffered -= count;
    return bytes;
  }
}
