/**
 * The SSE parser of the HTTP engine (src/http/sse.ts) against the WHATWG rules, with the stream cut
 * at every possible place: the messages must not depend on where the chunks end.
 */
import { SseDecoder, SseParser, type SseMessage } from '../src/http/sse';

const parseWhole = (text: string): SseMessage[] => new SseParser().feed(text);

function parseSplit(text: string, cuts: number[]): SseMessage[] {
  const p = new SseParser();
  const out: SseMessage[] = [];
  let from = 0;
  for (const c of [...cuts, text.length]) {
    out.push(...p.feed(text.slice(from, c)));
    from = c;
  }
  return out;
}

/** A stream like the bridge's, plus everything the spec allows: CR, CRLF, comments, multi-line data, retry, an id-only block. */
const STREAM =
  'retry: 2000\n\n' +
  'id: 1\nevent: queued\ndata: {"type":"queued","position":0}\n\n' +
  ': keep-alive\r\n\r\n' +
  'id: 2\r\nevent: started\r\ndata: {"type":"started",\r\ndata:  "device":"cpu"}\r\n\r\n' +
  'event: preview\rdata:{"png":"iVBOR"}\r\r' +
  'id: 3\n\n' +
  'data\ndata: second\n\n' +
  'id: 4\nevent: finished\ndata: {"summary":{}}\n\n';

const EXPECTED: SseMessage[] = [
  { event: 'queued', data: '{"type":"queued","position":0}', id: '1' },
  { event: 'started', data: '{"type":"started",\n "device":"cpu"}', id: '2' },
  { event: 'preview', data: '{"png":"iVBOR"}', id: '2' },
  { event: 'message', data: '\nsecond', id: '3' },
  { event: 'finished', data: '{"summary":{}}', id: '4' },
];

describe('SseParser', () => {
  it('reads the fields of each message: event, data lines joined with LF, the last id, and retry', () => {
    const p = new SseParser();
    expect(p.feed(STREAM)).toEqual(EXPECTED);
    expect(p.retry).toBe(2000);
    expect(p.lastEventId).toBe('4');
  });

  it('gives the same messages wherever the stream is cut in two', () => {
    for (let i = 0; i <= STREAM.length; i++) expect([i, parseSplit(STREAM, [i])]).toEqual([i, EXPECTED]);
  });

  it('gives the same messages when the stream arrives one character at a time', () => {
    expect(parseSplit(STREAM, [...Array(STREAM.length).keys()])).toEqual(EXPECTED);
  });

  it('treats a CR at the end of one chunk and an LF at the start of the next as one line end', () => {
    expect(parseSplit('data: a\r\n\r\ndata: b\r\n\r\n', [8, 10])).toEqual([
      { event: 'message', data: 'a', id: '' },
      { event: 'message', data: 'b', id: '' },
    ]);
    // A lone CR is a line end of its own, so CR CR ends a message even when cut between them.
    expect(parseSplit('data: a\r\rdata: b\r\r', [8])).toEqual([
      { event: 'message', data: 'a', id: '' },
      { event: 'message', data: 'b', id: '' },
    ]);
  });

  it('ignores comments, unknown fields, blocks without data, and drops an unfinished message at the end', () => {
    expect(parseWhole(':comment\nfoo: bar\nevent: x\n\nid: 7\n\ndata: kept\n\ndata: lost')).toEqual([{ event: 'message', data: 'kept', id: '7' }]);
  });

  it('strips one space after the colon only, and reads a field without colon as empty', () => {
    expect(parseWhole('data:  two\ndata:none\ndata\n\n')).toEqual([{ event: 'message', data: ' two\nnone\n', id: '' }]);
  });

  it('keeps the id across messages, resets it with an empty id, and ignores ids holding NUL', () => {
    expect(parseWhole('id: 5\ndata: a\n\ndata: b\n\nid: x\0y\ndata: c\n\nid\ndata: d\n\n').map((m) => m.id)).toEqual(['5', '5', '5', '']);
  });

  it('takes retry only as ASCII digits', () => {
    const p = new SseParser();
    p.feed('retry: 15x\n\nretry: -1\n\n');
    expect(p.retry).toBeNull();
    p.feed('retry: 300\n\n');
    expect(p.retry).toBe(300);
  });

  it('drops a leading byte-order mark, once', () => {
    expect(parseWhole('\ufeffdata: a\n\n')).toEqual([{ event: 'message', data: 'a', id: '' }]);
    expect(parseSplit('\ufeffdata: a\n\n', [0, 1])).toEqual([{ event: 'message', data: 'a', id: '' }]);
  });
});

describe('SseDecoder', () => {
  it('keeps multi-byte UTF-8 characters whole wherever the bytes are cut', () => {
    const text = 'id: 1\nevent: error\ndata: {"message":"maße · 猫 · 🎨"}\n\n';
    const bytes = new TextEncoder().encode(text);
    const want = [{ event: 'error', data: '{"message":"maße · 猫 · 🎨"}', id: '1' }];
    for (let i = 0; i <= bytes.length; i++) {
      const d = new SseDecoder();
      expect([i, [...d.push(bytes.subarray(0, i)), ...d.push(bytes.subarray(i)), ...d.end()]]).toEqual([i, want]);
    }
  });
});
