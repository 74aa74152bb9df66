/** The `private` QQ room: its codec, its place in `mappings:`, and how an admin room addresses one person. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config.js';
import type { BridgeMessage } from '../../../src/core/message.js';
import { privateRecipient } from '../../../src/connectors/qq/private-chats.js';
import { displayQqRoom, parseQqRoom, qqRoomId } from '../../../src/connectors/qq/rooms.js';

const msg = (...texts: string[]): BridgeMessage => ({
  id: 'irc:#a:1',
  origin: { network: 'irc', room: '#a', sender: { id: 'alice', displayName: 'alice' } },
  kind: 'message',
  parts: texts.map((text) => ({ type: 'text' as const, text })),
  time: 0,
});

const config = (link: string) => `qq:\n  uin: 1\n  password: x\nirc: { host: irc.example.org, nick: qqbridge }\nmappings:\n${link}\n`;
const problems = (text: string) => {
  try {
    parseConfig(text, 'c.yaml', {});
    return [];
  } catch (e) {
    return (e as Error).message.split('\n');
  }
};

describe('the private QQ room', () => {
  it('is one room, whoever the other person is', () => {
    expect(parseQqRoom('private')).toEqual({ kind: 'private' });
    expect(qqRoomId({ kind: 'private', qq: 2440652742 })).toBe('private');
    expect(displayQqRoom('private')).toBe('QQ private chats');
  });

  it('is linked with qq: { private: true }; a side naming two rooms is an error at its key', () => {
    const c = parseConfig(config('  - qq: { private: true }\n    irc: "#qq-private"'), 'c.yaml', {});
    expect(c.mappings[0]!.rooms.find((r) => r.network === 'qq')?.room).toBe('private');
    expect(problems(config('  - qq: { private: true, group: 5 }\n    irc: "#x"'))).toEqual([
      'c.yaml:6:9: mappings[0].qq: expected exactly one of "group: <group number>", "discussion: <discussion name>" or "private: true"',
    ]);
  });

  it('is answered by a message that starts with the QQ number, which is taken off the text', () => {
    const to = privateRecipient(msg('2440652742: thanks, see you'));
    expect(to?.qq).toBe(2440652742);
    expect(to?.message.parts).toEqual([{ type: 'text', text: 'thanks, see you' }]);
    expect(privateRecipient(msg('  2440652742 , hi'))?.qq).toBe(2440652742);
    expect(privateRecipient(msg('', '2440652742: after an empty part'))?.message.parts[1]).toEqual({ type: 'text', text: 'after an empty part' });
  });

  it('names nobody when the number is missing, too short or not first', () => {
    expect(privateRecipient(msg('hello 2440652742: hi'))).toBeUndefined();
    expect(privateRecipient(msg('1234: hi'))).toBeUndefined();
    expect(privateRecipient(msg('2440652742 hi'))).toBeUndefined();
  });
});
