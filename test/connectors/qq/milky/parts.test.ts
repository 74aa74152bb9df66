/** Milky segments ↔ QQ parts: pure codecs. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { OutgoingSegment } from '@saltify/milky-types';
import { cardOf, partsFromSegments, segmentsFromItems } from '../../../../src/connectors/qq/milky/parts.js';

describe('segmentsFromItems', () => {
  it('any user text becomes exactly one text segment with that text, valid by the protocol schema', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), (text) => {
        const segs = segmentsFromItems([{ type: 'text', text }]);
        expect(segs).toEqual([{ type: 'text', data: { text } }]);
        expect(OutgoingSegment.safeParse(segs[0]).success).toBe(true);
      }),
    );
  });
  it('puts the reply first, mentions by number, faces by id, pictures as base64://', () => {
    const segs = segmentsFromItems([
      { type: 'text', text: 'hi ' },
      { type: 'at', qq: 2440652742, name: 'x' },
      { type: 'face', id: 14 },
      { type: 'image', data: Buffer.from('abc'), mime: 'image/png' },
      { type: 'reply', id: '1042' },
    ]);
    expect(segs).toEqual([
      { type: 'reply', data: { message_seq: 1042 } },
      { type: 'text', data: { text: 'hi ' } },
      { type: 'mention', data: { user_id: 2440652742 } },
      { type: 'face', data: { face_id: '14' } },
      { type: 'image', data: { uri: 'base64://YWJj' } },
    ]);
    expect(segmentsFromItems([{ type: 'reply', id: 'not-a-seq' }, { type: 'text', text: 'x' }])).toEqual([{ type: 'text', data: { text: 'x' } }]);
  });
});

describe('partsFromSegments', () => {
  it('reads mentions, faces, the reply seq, and unknown face ids as text', () => {
    const r = partsFromSegments([
      { type: 'reply', data: { message_seq: 7, sender_id: 10001, time: 1, segments: [] } },
      { type: 'mention', data: { user_id: 10002, name: 'Bob' } },
      { type: 'mention_all', data: {} },
      { type: 'face', data: { face_id: '5', is_large: false } },
      { type: 'face', data: { face_id: 'abc', is_large: false } },
    ]);
    expect(r.replyTo).toBe(7);
    expect(r.parts).toEqual([{ type: 'at', qq: 10002, name: 'Bob' }, { type: 'at-all' }, { type: 'face', id: 5 }, { type: 'text', text: '[face abc]' }]);
  });
  it('a forward not expanded shows its title and summary', () => {
    expect(partsFromSegments([{ type: 'forward', data: { forward_id: 'f', title: '群聊的聊天记录', preview: [], summary: '查看3条转发消息' } }]).parts).toEqual([{ type: 'text', text: '[群聊的聊天记录] 查看3条转发消息' }]);
  });
});

describe('cardOf', () => {
  it('takes title and link from light_app JSON and XML; a broken payload keeps the app name', () => {
    expect(cardOf({ type: 'light_app', data: { app_name: 'com.tencent.structmsg', json_payload: JSON.stringify({ prompt: '[分享]', meta: { news: { title: 'News', jumpUrl: 'https://example.org/n' } } }) } })).toEqual({ title: 'News', url: 'https://example.org/n' });
    expect(cardOf({ type: 'light_app', data: { app_name: 'app', json_payload: '{broken' } })).toEqual({ title: 'app' });
    expect(cardOf({ type: 'xml', data: { service_id: 1, xml_payload: '<msg url="https://example.org/x" brief="[链接]"><item><title>X page</title></item></msg>' } })).toEqual({ title: 'X page', url: 'https://example.org/x' });
    expect(cardOf({ type: 'xml', data: { service_id: 1, xml_payload: '<msg url="javascript:alert(1)"/>' } })).toEqual({ title: 'XML card' });
  });
});
