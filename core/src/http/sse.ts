/**
 * A `text/event-stream` parser (WHATWG HTML, "Server-sent events", §9.2.6 interpreting an event
 * stream), fed decoded text in chunks that may split anywhere: inside a line, between the CR and
 * LF of a CRLF, inside a multi-byte character (SseDecoder keeps those for the next chunk). Lines
 * end at CRLF, LF or CR; a leading BOM is dropped; `:` lines are comments; `data` lines join with
 * LF; `id` sets the last event id (kept across messages, ignored when it holds NUL); `retry` sets
 * the reconnection delay; an unfinished message at the end of the stream is dropped.
 */

export interface SseMessage {
  /** The `event` field, or "message" when there was none. */
  event: string;
  data: string;
  /** The last event id as of this message (the latest `id` field seen, "" when none yet). */
  id: string;
}

export class SseParser {
  /** The last `id` field seen; send it back as Last-Event-ID when reconnecting. */
  lastEventId = '';
  /** Reconnection delay the server asked for with `retry:` (ms), null when it has not. */
  retry: number | null = null;
  private line = '';
  private data: string[] = [];
  private event = '';
  private started = false;
  /** The previous chunk ended with CR: an LF at the start of this one belongs to it. */
  private afterCR = false;

  /** Parses the next piece of the stream; returns the messages it completed. */
  feed(text: string): SseMessage[] {
    const out: SseMessage[] = [];
    let i = 0;
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) i = 1;
    }
    if (this.afterCR && i < text.length) {
      if (text.charCodeAt(i) === 10) i++;
      this.afterCR = false;
    }
    while (i < text.length) {
      const cr = text.indexOf('\r', i);
      const lf = text.indexOf('\n', i);
      const end = cr < 0 ? lf : lf < 0 ? cr : Math.min(cr, lf);
      if (end < 0) {
        this.line += text.slice(i);
        break;
      }
      const line = this.line + text.slice(i, end);
      this.line = '';
      i = end + 1;
      if (end === cr) {
        if (i < text.length) {
          if (text.charCodeAt(i) === 10) i++;
        } else this.afterCR = true;
      }
      const message = this.processLine(line);
      if (message) out.push(message);
    }
    return out;
  }

  private processLine(line: string): SseMessage | null {
    if (line === '') return this.dispatch();
    if (line.charCodeAt(0) === 58) return null; // ':' comment (keep-alives)
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    switch (field) {
      case 'event':
        this.event = value;
        break;
      case 'data':
        this.data.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) this.lastEventId = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retry = Number(value);
        break;
      default:
      // Unknown fields are ignored.
    }
    return null;
  }

  private dispatch(): SseMessage | null {
    const data = this.data;
    const event = this.event;
    this.data = [];
    this.event = '';
    if (data.length === 0) return null;
    return { event: event || 'message', data: data.join('\n'), id: this.lastEventId };
  }
}

/** The decoder of the byte stream: UTF-8 with multi-byte characters kept across chunks. */
interface StreamingTextDecoder {
  decode(input?: Uint8Array, options?: { stream?: boolean }): string;
}

/** Bytes in, messages out: an SseParser behind a streaming UTF-8 decoder. */
export class SseDecoder {
  readonly parser = new SseParser();
  private readonly decoder = new TextDecoder('utf-8') as unknown as StreamingTextDecoder;

  push(bytes: Uint8Array): SseMessage[] {
    return this.parser.feed(this.decoder.decode(bytes, { stream: true }));
  }

  /** The end of the stream: flushes the decoder (an unfinished message is dropped, as the spec says). */
  end(): SseMessage[] {
    return this.parser.feed(this.decoder.decode());
  }
}
