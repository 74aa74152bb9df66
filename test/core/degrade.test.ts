import { describe, expect, it } from 'vitest';
import type { Capabilities } from '../../src/core/connector.js';
import { degrade, quotePrefix, summarize } from '../../src/core/degrade.js';
import type { BridgeMessage } from '../../src/core/message.js';
import { plainText } from '../../src/core/message.js';

const full: Capabilities = {
  formatting: true,
  images: 'upload',
  replies: true,
  edits: true,
  kinds: ['message', 'action', 'notice', 'join', 'leave', 'rename', 'topic'],
  rateLimit: { perSecond: 1, burst: 1 },
};
const plain: Capabilities = { ...full, formatting: false, images: 'link', replies: false, edits: false, kinds: ['message', 'notice', 'action'] };

const msg = (over: Partial<BridgeMessage> = {}): BridgeMessage => ({
  id: 'qq:group:1:100',
  origin: { network: 'qq', room: 'group:1', sender: { id: '123', displayName: 'Alice' } },
  kind: 'message',
  parts: [{ type: 'text', text: 'hello' }],
  time: 0,
  ...over,
});

describe('degrade', () => {
  it('leaves a message alone when the target carries everything', () => {
    const m = msg({ parts: [{ type: 'text', text: 'hi', style: { bold: true } }, { type: 'image', url: 'https://x/a.png' }], replyTo: 'a', editOf: 'b' });
    expect(degrade(m, full)).toEqual(m);
  });

  it('turns an image into its URL with a marker when the target only takes links', () => {
    const m = msg({ parts: [{ type: 'text', text: 'look ' }, { type: 'image', mediaId: 'sha256-ab', url: undefined }] });
    const out = degrade(m, plain, { mediaUrl: (id) => `https://media.example/${id}` });
    expect(plainText(out.parts)).toBe('look [image] https://media.example/sha256-ab');
    const noUrl = degrade(msg({ parts: [{ type: 'image', mediaId: 'z', name: 'cat.jpg' }] }), plain);
    expect(plainText(noUrl.parts)).toBe('[image: cat.jpg]');
  });

  it('drops styles (keeping the text) when the target has no formatting', () => {
    const out = degrade(msg({ parts: [{ type: 'text', text: 'bold', style: { bold: true, color: 'ff0000' } }] }), plain);
    expect(out.parts).toEqual([{ type: 'text', text: 'bold' }]);
  });

  it('turns join/leave/rename/topic into a short notice when the target does not show them', () => {
    expect(degrade(msg({ kind: 'join', parts: [] }), plain)).toMatchObject({ kind: 'notice', parts: [{ type: 'text', text: 'Alice joined' }] });
    expect(plainText(degrade(msg({ kind: 'leave', parts: [{ type: 'text', text: 'kicked' }] }), plain).parts)).toBe('Alice left (kicked)');
    expect(plainText(degrade(msg({ kind: 'rename', parts: [{ type: 'text', text: 'Alicia' }] }), plain).parts)).toBe('Alice is now known as Alicia');
    const topic = degrade(msg({ kind: 'topic', parts: [{ type: 'text', text: 'release day' }] }), { ...plain, kinds: ['message'] });
    expect(topic).toMatchObject({ kind: 'message', parts: [{ type: 'text', text: 'Alice changed the topic to: release day' }] });
  });

  it('gives replies a short quote prefix and removes the reference', () => {
    const quote = { nick: 'Bob', text: 'a fairly long original message that goes on and on past forty characters' };
    const out = degrade(msg({ replyTo: 'qq:group:1:99', parts: [{ type: 'text', text: 'agreed' }] }), plain, { replyQuote: quote });
    expect(out.replyTo).toBeUndefined();
    expect(plainText(out.parts)).toBe('> Bob: a fairly long original message that goes…\nagreed');
    expect(quotePrefix({ nick: 'Bob', text: 'short' })).toBe('> Bob: short\n');
  });

  it('cuts quotes by characters, not bytes', () => {
    expect(quotePrefix({ nick: '张三', text: '你'.repeat(45) })).toBe(`> 张三: ${'你'.repeat(40)}…\n`);
  });

  it('marks edits as corrections when the target cannot edit', () => {
    const out = degrade(msg({ editOf: 'qq:group:1:99', parts: [{ type: 'text', text: 'fixed typo' }] }), plain);
    expect(out.editOf).toBeUndefined();
    expect(plainText(out.parts)).toBe('* corrected: fixed typo');
  });

  it('does not change its input', () => {
    const m = msg({ replyTo: 'x', editOf: 'y', kind: 'join', parts: [{ type: 'text', text: 't', style: { bold: true } }] });
    const copy = structuredClone(m);
    degrade(m, plain, { replyQuote: { nick: 'n', text: 't' } });
    expect(m).toEqual(copy);
  });

  it('summaries keep the sender name and collapsed text', () => {
    expect(summarize(msg({ parts: [{ type: 'text', text: 'a\n\n b' }, { type: 'emoji', text: '🙂', name: '微笑', native: { network: 'qq', id: '14' } }] }))).toEqual({ nick: 'Alice', text: 'a b🙂' });
  });
});

describe('pictures as links among words', () => {
  it('keeps a space between the link and the text around it', () => {
    const msg = {
      id: 'qq:group:1:1', origin: { network: 'qq', room: 'group:1', sender: { id: '1', displayName: 'a' } }, kind: 'message' as const, time: 0,
      parts: [{ type: 'text' as const, text: 'look:' }, { type: 'image' as const, mediaId: 'x.png', url: 'http://m/x.png' }, { type: 'text' as const, text: 'nice' }],
    };
    const caps = { formatting: true, images: 'link' as const, replies: true, edits: true, kinds: ['message' as const], rateLimit: { perSecond: 1, burst: 1 } };
    const out = degrade(msg, caps);
    expect(out.parts.map((p) => (p.type === 'text' ? p.text : '?')).join('')).toBe('look: [image] http://m/x.png nice');
  });
});
