import { describe, expect, it } from 'vitest';
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
