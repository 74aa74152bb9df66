import { describe, expect, it } from 'vitest';
import { msgIdSeed } from '../../../../src/connectors/qq/webqq/sender.js';

describe('msgIdSeed (§4.3)', () => {
  it('matches the official mq.js seed', () => {
    // At 1483846258123 ms the seed is 62580000, so the first msg_id is 62580001.
    expect(msgIdSeed(1483846258123)).toBe(62580000);
    expect(msgIdSeed(1_000_000_000)).toBe(0);
  });
});
