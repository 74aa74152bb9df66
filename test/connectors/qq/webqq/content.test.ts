import { describe, expect, it } from 'vitest';
import {
  encodeContent, encodedBytes, parseContent, splitContent, unescapeHtml, type OutgoingItem,
} from '../../../../src/connectors/qq/webqq/content.js';

const FONT = ['font', { color: '004faa', name: 'STKaiti', size: 13, style: [1, 0, 1] }];

describe('parseContent (received, §4.1)', () => {
  it('reads the seed buddy message: font first, then text with its trailing space', () => {
    const c = parseContent([FONT, 'hii ']);
    expect(c.items).toEqual([{ type: 'text', text: 'hii ' }]);
    expect(c.font).toEqual({ name: 'STKaiti', size: 13, color: '004faa', bold: true, italic: false, underline: true });
    expect(c.junk).toBe(false);
    expect(c.pictureStripped).toBe(false);
  });

  it('decodes faces, group cface objects, buddy cface strings and offpics in order', () => {
    const c = parseContent([
      FONT, '2载3 ', ['face', 14], ' ',
      ['cface', { name: '{F2B0}.jpg', file_id: 3648788200, key: 'pcm4N6IKmQ852Pus', server: '123.138.154.167:8000' }],
      ['cface', '4D72EF8CF64D53DECB31ABC2B601AB23.jpg', ''],
      ['offpic', { success: 1, file_path: '/7acccf74-0fcd' }],
    ]);
    expect(c.items).toEqual([
      { type: 'text', text: '2载3 ' },
      { type: 'face', id: 14 },
      { type: 'text', text: ' ' },
      { type: 'cface', scope: 'group', name: '{F2B0}.jpg', fileId: 3648788200, key: 'pcm4N6IKmQ852Pus', server: '123.138.154.167:8000' },
      { type: 'cface', scope: 'buddy', name: '4D72EF8CF64D53DECB31ABC2B601AB23.jpg' },
      { type: 'offpic', filePath: '/7acccf74-0fcd', success: true },
    ]);
  });

  it('unescapes HTML entities in text (&lt; &gt; &amp; &quot; &#39; &nbsp; &#92;)', () => {
    expect(unescapeHtml('a &lt;b&gt; &amp; &quot;c&quot; &#39;d&#39;&nbsp;&#92;&#x4e2d;&bogus;')).toBe('a <b> & "c" \'d\'\u00a0\\中&bogus;');
    expect(parseContent([FONT, '1 &lt; 2']).items).toEqual([{ type: 'text', text: '1 < 2' }]);
  });

  it('flags the \\u0000…宋体\\r garbage group message as junk', () => {
    expect(parseContent([FONT, ' \u0000\n\u0000\u0000\u0000\u0000\u0002宋体\r']).junk).toBe(true);
    expect(parseContent([FONT, '宋体 is a font']).junk).toBe(false);
  });

  it('flags font-only content as a stripped picture, and drops a trailing ""', () => {
    expect(parseContent([FONT]).pictureStripped).toBe(true);
    expect(parseContent([FONT, 'x', '']).items).toEqual([{ type: 'text', text: 'x' }]);
  });

  it('survives wrong types without throwing and counts what it could not read', () => {
    const c = parseContent([FONT, 42, null, ['face', 'x'], ['cface', 7], ['weird'], { a: 1 }, 'ok']);
    expect(c.items).toEqual([{ type: 'text', text: 'ok' }]);
    expect(c.unknown).toBe(6);
    expect(parseContent(null).items).toEqual([]);
    expect(parseContent({}).unknown).toBe(1);
  });

  it('bounds a 10 000-element content array', () => {
    const big = [FONT, ...Array.from({ length: 10_000 }, () => ['face', 1])];
    const c = parseContent(big);
    expect(c.items.length).toBeLessThanOrEqual(5000);
    expect(c.unknown).toBeGreaterThan(0);
  });
});

describe('encodeContent (sent, §4.2)', () => {
  it('puts the font last, faces as ["face",id] and group pictures as ["cface","group",name]', () => {
    const s = encodeContent([{ type: 'text', text: 'gogo\n' }, { type: 'face', id: 14 }, { type: 'cface', name: '8D10.jPg' }]);
    const arr = JSON.parse(s);
    expect(arr[0]).toBe('gogo\n');
    expect(arr[1]).toEqual(['face', 14]);
    expect(arr[2]).toEqual(['cface', 'group', '8D10.jPg']);
    expect(arr[3][0]).toBe('font');
    expect(arr[3][1]).toMatchObject({ name: '宋体', style: [0, 0, 0], color: '000000' });
  });

  it('always carries at least one string element', () => {
    const arr = JSON.parse(encodeContent([{ type: 'cface', name: 'x.jPg' }]));
    expect(arr.some((e: unknown) => typeof e === 'string')).toBe(true);
    expect(arr[arr.length - 1][0]).toBe('font');
  });
});

describe('splitContent (§4.5)', () => {
  const textOf = (pieces: OutgoingItem[][]) =>
    pieces.map((p) => p.map((i) => (i.type === 'text' ? i.text : '')).join('')).join('');

  it('leaves a short message whole', () => {
    expect(splitContent([{ type: 'text', text: 'hello' }])).toHaveLength(1);
  });

  it('splits 2000 bytes of ASCII into ≥3 pieces ≤720 encoded bytes, losing nothing, preferring whitespace', () => {
    const words = Array.from({ length: 420 }, (_, i) => `w${String(i).padStart(3, "0")}`).join(" ");
    expect(Buffer.byteLength(words)).toBeGreaterThan(1999);
    const pieces = splitContent([{ type: 'text', text: words }]);
    expect(pieces.length).toBeGreaterThanOrEqual(3);
    for (const p of pieces) expect(encodedBytes(p)).toBeLessThanOrEqual(720);
    expect(textOf(pieces)).toBe(words);
    for (const p of pieces.slice(0, -1)) {
      const t = (p[0] as { text: string }).text;
      expect(t.endsWith(' ')).toBe(true); // cut after whitespace, not mid-word
      expect(encodedBytes(p)).toBeGreaterThanOrEqual(620);
    }
  });

  it('never splits a surrogate pair or a multi-byte character', () => {
    const text = '中😀'.repeat(300); // 7 bytes per pair, no whitespace
    const pieces = splitContent([{ type: 'text', text }]);
    expect(pieces.length).toBeGreaterThan(1);
    for (const p of pieces) {
      expect(encodedBytes(p)).toBeLessThanOrEqual(720);
      const t = (p[0] as { text: string }).text;
      expect(t).not.toMatch(/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/);
    }
    expect(textOf(pieces)).toBe(text);
  });

  it('counts JSON escapes (quotes, backslashes, newlines) against the limit', () => {
    const text = '"\\\n'.repeat(500);
    const pieces = splitContent([{ type: 'text', text }]);
    for (const p of pieces) expect(encodedBytes(p)).toBeLessThanOrEqual(720);
    expect(textOf(pieces)).toBe(text);
  });

  it('keeps faces between text in order across pieces', () => {
    const items: OutgoingItem[] = [{ type: 'text', text: 'a'.repeat(700) }, { type: 'face', id: 5 }, { type: 'text', text: 'tail' }];
    const pieces = splitContent(items);
    for (const p of pieces) expect(encodedBytes(p)).toBeLessThanOrEqual(720);
    const flat = pieces.flat();
    expect(flat.findIndex((i) => i.type === 'face')).toBeGreaterThan(0);
    expect(textOf(pieces)).toBe('a'.repeat(700) + 'tail');
  });
});
