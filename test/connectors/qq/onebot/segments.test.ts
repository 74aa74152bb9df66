import { describe, expect, it } from 'vitest';
import { partsFromSegments, segmentsForItems } from '../../../../src/connectors/qq/onebot/parts.js';
import { escapeCqText, normalizeMessage, parseCqString, toCqString } from '../../../../src/connectors/qq/onebot/segments.js';

describe('CQ strings', () => {
  it('parses codes and unescapes text and values', () => {
    expect(parseCqString('hi &#91;not a code&#93; &amp; [CQ:face,id=14][CQ:image,file=a&#44;b.png,url=http://x/y?a=1&amp;b=2]end')).toEqual([
      { type: 'text', data: { text: 'hi [not a code] & ' } },
      { type: 'face', data: { id: '14' } },
      { type: 'image', data: { file: 'a,b.png', url: 'http://x/y?a=1&b=2' } },
      { type: 'text', data: { text: 'end' } },
    ]);
  });
  it('keeps malformed codes as text', () => {
    expect(parseCqString('[CQ:] [CQ:at,qq] [CQ:face,id=1')).toEqual([{ type: 'text', data: { text: '[CQ:] [CQ:at,qq] [CQ:face,id=1' } }]);
  });
  it('round-trips through toCqString', () => {
    const segs = [{ type: 'text', data: { text: '[a], &b' } }, { type: 'at', data: { qq: '10001' } }, { type: 'text', data: { text: ']' } }];
    expect(parseCqString(toCqString(segs))).toEqual(segs);
    expect(escapeCqText('[CQ:at,qq=all]')).toBe('&#91;CQ:at,qq=all&#93;');
  });
  it('normalizes array, single object and garbage messages', () => {
    expect(normalizeMessage([{ type: 'text', data: { text: 'x' } }, { nope: 1 }, 'str']).segments).toEqual([{ type: 'text', data: { text: 'x' } }]);
    expect(normalizeMessage([{ type: 'text', data: { text: 'x' } }, { nope: 1 }]).problems).toEqual(['a segment without a type']);
    expect(normalizeMessage({ type: 'face', data: { id: 1 } }).segments).toEqual([{ type: 'face', data: { id: 1 } }]);
    expect(normalizeMessage(42).problems[0]).toMatch(/not segments/);
  });
});

describe('segments ↔ parts', () => {
  it('numbers may come as strings; at all, reply and unknown types are recognised', () => {
    const r = partsFromSegments([
      { type: 'reply', data: { id: '-12345' } }, { type: 'at', data: { qq: 'all' } }, { type: 'at', data: { qq: 10001, name: 'bob' } },
      { type: 'face', data: { id: '178' } }, { type: 'weird', data: {} },
    ]);
    expect(r.replyTo).toBe('-12345');
    expect(r.parts).toEqual([{ type: 'at-all' }, { type: 'at', qq: 10001, name: 'bob' }, { type: 'face', id: 178 }, { type: 'text', text: '[weird]' }]);
    expect(r.unknown).toEqual(['weird']);
  });
  it('splits long text under the limit, reply only on the first piece', () => {
    const pieces = segmentsForItems([{ type: 'reply', id: '7' }, { type: 'text', text: 'a'.repeat(25) }], 10);
    expect(pieces.map((p) => p.map((s) => (s.type === 'text' ? s.data.text : `<${s.type}>`)).join(''))).toEqual(['<reply>aaaaaaaaaa', 'aaaaaaaaaa', 'aaaaa']);
  });
  it('user text is only ever a text segment; pictures are base64', () => {
    const pieces = segmentsForItems([{ type: 'text', text: '[CQ:at,qq=all]' }, { type: 'image', data: Buffer.from('hi'), mime: 'image/png' }, { type: 'at', qq: 10001, name: 'x' }]);
    expect(pieces).toEqual([[{ type: 'text', data: { text: '[CQ:at,qq=all]' } }, { type: 'image', data: { file: 'base64://aGk=' } }, { type: 'at', data: { qq: '10001' } }]]);
  });
});
