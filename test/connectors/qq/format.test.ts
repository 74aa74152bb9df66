import { describe, expect, it } from 'vitest';
import { facePart } from '../../../src/connectors/qq/faces.js';
import { renderForQq } from '../../../src/connectors/qq/format.js';
import { degrade } from '../../../src/core/degrade.js';
import type { BridgeMessage, Part } from '../../../src/core/message.js';

const msg = (parts: Part[], kind: BridgeMessage['kind'] = 'message', extra: Partial<BridgeMessage> = {}): BridgeMessage => ({
  id: 'irc:#c:1',
  origin: { network: 'irc', room: '#c', sender: { id: 'alice', displayName: 'alice' } },
  kind,
  parts,
  time: 0,
  ...extra,
});
const text = (m: BridgeMessage) => renderForQq(m).map((i) => (i.type === 'text' ? i.text : `<${i.type}>`)).join('');

describe('renderForQq sender prefix', () => {
  it('a notice from a person carries their name; only the bridge\'s own notice goes bare', () => {
    expect(text(msg([{ type: 'text', text: 'QQ connection lost' }], 'notice'))).toBe('[alice] QQ connection lost');
    expect(text(msg([{ type: 'text', text: 'QQ connection lost' }], 'notice', { fromBridge: true }))).toBe('QQ connection lost');
  });

  it('messages and actions keep their usual prefixes', () => {
    expect(text(msg([{ type: 'text', text: 'hi' }]))).toBe('[alice] hi');
    expect(text(msg([{ type: 'text', text: 'waves' }], 'action'))).toBe('* alice waves');
  });

  it('a join degraded to a notice names the member once', () => {
    const caps = { formatting: false, images: 'upload' as const, kinds: ['message' as const, 'action' as const, 'notice' as const], replies: false, edits: false, rateLimit: { perSecond: 1, burst: 1 } };
    expect(text(degrade(msg([], 'join'), caps))).toBe('* alice joined');
  });
});

describe('renderForQq faces', () => {
  const items = (parts: Part[]) => renderForQq(msg(parts)).map((i) => (i.type === 'text' ? i.text : i.type === 'face' ? `<face ${i.id}>` : `<${i.type}>`)).join('');

  it('a face that came from QQ goes back as the same face, even one sharing its emoji', () => {
    expect(items([facePart(14), facePart(173), facePart(23)])).toBe('[alice] <face 14><face 173><face 23>');
  });

  it('text written as [name] or as a face emoji becomes the face; unknown brackets and emoji stay text', () => {
    expect(items([{ type: 'text', text: 'hi [微笑] [nope] 😭 🦄' }])).toBe('[alice] hi <face 14> [nope] <face 9> 🦄');
  });

  it("another network's emoji part becomes the QQ face of its emoji or name, else its text", () => {
    expect(items([
      { type: 'emoji', text: '👍', native: { network: 'matrix', id: 'mxc://x/y' } },
      { type: 'emoji', text: ':smile:', name: '微笑' },
      { type: 'emoji', text: ':party_blob:', native: { network: 'matrix', id: '14' } },
    ])).toBe('[alice] <face 46><face 14>:party_blob:');
  });
});
