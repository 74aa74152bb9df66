import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../support/wait.js';
import { CHAT, QQ, ROOM, TOKEN, TOM, useTelegramBridge } from './harness.js';

const setup = useTelegramBridge('qqbridge-tg-');

describe('Telegram deletes (outbound only: the Bot API tells a bot of no deletion)', () => {
  it('deletes every piece of the message; one already gone counts as done; one past 48 hours is refused once', async () => {
    const { fake, qq, failures } = await setup();
    const a = await qq.inject(QQ.room, { sender: { id: '1', displayName: 'ann' }, text: 'split ' + 'x'.repeat(5000) });
    const b = await qq.inject(QQ.room, { sender: { id: '1', displayName: 'ann' }, text: 'deleted by someone already' });
    const c = await qq.inject(QQ.room, { sender: { id: '1', displayName: 'ann' }, text: 'ancient' });
    await waitFor(() => fake.sentTo(CHAT).length === 4, 'four Telegram messages (the first split in two)', 8_000);
    const [a1, a2, bm, cm] = fake.sentTo(CHAT);
    // Someone (an admin's client) deletes b first: the fake Bot API is the same chat for everyone.
    await fetch(`${fake.apiRoot}/bot${TOKEN}/deleteMessage`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ chat_id: CHAT, message_id: bm!.messageId }) });
    fake.backdate(CHAT, cm!.messageId, 49 * 3600);
    for (const m of [a, b, c]) await qq.inject(QQ.room, { kind: 'delete', deleteOf: m.id, text: 'recalled a message' });
    await waitFor(() => failures.length === 1, 'the refusal', 8_000);
    expect([a1, a2].map((m) => fake.exists(CHAT, m!.messageId))).toEqual([false, false]);
    expect(fake.exists(CHAT, bm!.messageId)).toBe(false);
    expect(fake.exists(CHAT, cm!.messageId)).toBe(true);
    expect(failures[0]).toMatchObject({ kind: 'rejected', messageKind: 'delete', sourceId: expect.stringContaining('qq:'), reason: "deleteMessage: 400 Bad Request: message can't be deleted" });
    await new Promise((r) => setTimeout(r, 100));
    expect(fake.calls.filter((m) => m === 'deleteMessage')).toHaveLength(5); // 2 + 1 (not found: done) + 1 refused, + the test's own
    expect(fake.sentTo(CHAT)).toHaveLength(4); // no notice text sent for a delete
  });
});

describe('TelegramConnector through a Relay and the fake Bot API', () => {
  it('QQ → Telegram: HTML with the nick in bold and hostile text escaped', async () => {
    const { fake, qq } = await setup();
    await qq.inject(QQ.room, { sender: { id: '1', displayName: 'Ann<i>' }, parts: [{ type: 'text', text: '<script>x</script> &amp; ' }, { type: 'text', text: 'hi', style: { bold: true } }] });
    await waitFor(() => fake.sentTo(CHAT).length === 1, 'a Telegram message', 8_000);
    expect(fake.sentTo(CHAT)[0]).toMatchObject({ parseMode: 'HTML', text: '<b>Ann&lt;i&gt;</b>: &lt;script&gt;x&lt;/script&gt; &amp;amp; <b>hi</b>' });
  });

  it('Telegram → QQ: text with links, sender first name, stable ids; /chatid answers and is not relayed; own messages are not relayed', async () => {
    const { fake, toQQ } = await setup();
    fake.message(CHAT, { id: 7, first_name: 'Bridge' }, { text: '/chatid', entities: [{ type: 'bot_command', offset: 0, length: 7 }] });
    const m = fake.message(CHAT, TOM, { text: 'see https://a.b now', entities: [{ type: 'url', offset: 4, length: 11 }] });
    fake.message(CHAT, { id: fake.bot.id, first_name: 'Bridge' }, { text: 'my own echo' });
    fake.message(CHAT, TOM, { text: 'last' });
    await waitFor(() => toQQ().length === 2, 'two relayed messages', 8_000);
    expect(toQQ()[0]).toMatchObject({
      id: `telegram:${ROOM}:${m.message_id}`,
      origin: { network: 'telegram', room: ROOM, sender: { id: '42', displayName: 'Tom' } },
      parts: [{ type: 'text', text: 'see ' }, { type: 'link', url: 'https://a.b' }, { type: 'text', text: ' now' }],
    });
    expect(toQQ()[1]!.parts).toEqual([{ type: 'text', text: 'last' }]);
    await waitFor(() => fake.sentTo(CHAT).length === 1, 'the /chatid answer', 8_000);
    expect(fake.sentTo(CHAT)[0]!.text).toContain(ROOM);
  });

  it('photos both ways keep their bytes; stickers arrive as an image or their emoji', async () => {
    const { fake, qq, media, toQQ } = await setup({ config: { senderName: 'username' } });
    const bytes = new Uint8Array([0xff, 0xd8, 0xff, 1, 2, 3, 250, 0, 9]);
    const { mediaId } = await media.put(bytes, 'image/jpeg');
    await qq.inject(QQ.room, { sender: { id: '1', displayName: 'ann' }, parts: [{ type: 'text', text: 'pic:' }, { type: 'image', mediaId }] });
    await waitFor(() => fake.sentTo(CHAT).length === 2, 'text then photo', 8_000);
    const [t, p] = fake.sentTo(CHAT);
    expect(t).toMatchObject({ method: 'sendMessage', text: '<b>ann</b>: pic:' });
    expect(p).toMatchObject({ method: 'sendPhoto', caption: '<b>ann</b>' });
    expect(Buffer.from(p!.photo!)).toEqual(Buffer.from(bytes));

    const big = new Uint8Array(Array.from({ length: 3000 }, (_, i) => i % 251));
    const small = fake.addFile(new Uint8Array([1]));
    const large = fake.addFile(big);
    fake.message(CHAT, TOM, { photo: [{ file_id: small, file_unique_id: 's', width: 90, height: 90 }, { file_id: large, file_unique_id: 'l', width: 1280, height: 960 }], caption: 'holiday' });
    const webp = fake.addFile(new Uint8Array([82, 73, 70, 70, 1, 2]), 'webp');
    fake.message(CHAT, TOM, { sticker: { file_id: webp, file_unique_id: 'w', type: 'regular', width: 512, height: 512, is_animated: false, is_video: false, emoji: '😺' } });
    fake.message(CHAT, TOM, { sticker: { file_id: 'anim', file_unique_id: 'a', type: 'regular', width: 512, height: 512, is_animated: true, is_video: false, emoji: '🎉' } });
    await waitFor(() => toQQ().length === 3, 'photo and stickers', 8_000);
    const [photo, sticker, anim] = toQQ();
    expect(photo!.origin.sender.displayName).toBe('tom_t');
    expect(photo!.parts[0]).toMatchObject({ type: 'image', mime: 'image/jpeg', width: 1280 });
    expect(photo!.parts.slice(1)).toEqual([{ type: 'text', text: ' ' }, { type: 'text', text: 'holiday' }]);
    const got = await media.get((photo!.parts[0] as { mediaId: string }).mediaId);
    expect(Buffer.from(got!.data)).toEqual(Buffer.from(big));
    expect(sticker!.parts[0]).toMatchObject({ type: 'image', mime: 'image/webp' });
    expect(anim!.parts).toEqual([{ type: 'text', text: '🎉' }]);
  });

  it('replies and edits map to the right messages both ways', async () => {
    const { fake, qq, toQQ } = await setup();
    const q = await qq.inject(QQ.room, { text: 'question' });
    await waitFor(() => fake.sentTo(CHAT).length === 1, 'the question on Telegram', 8_000);
    const tgId = fake.sentTo(CHAT)[0]!.messageId;
    // A Telegram user answers the bridged QQ message: QQ sees a reply to the QQ original.
    const ans = fake.message(CHAT, TOM, { text: 'answer', reply_to_message: { message_id: tgId, date: 0, chat: { id: CHAT, type: 'supergroup' } } });
    await waitFor(() => toQQ().length === 1, 'the answer on QQ', 8_000);
    expect(toQQ()[0]!.replyTo).toBe(q.id);
    // QQ answers the Telegram message: Telegram threads it natively.
    await qq.inject(QQ.room, { text: 'thanks', replyTo: `telegram:${ROOM}:${ans.message_id}` });
    await waitFor(() => fake.sentTo(CHAT).length === 2, 'the reply on Telegram', 8_000);
    expect(fake.sentTo(CHAT)[1]).toMatchObject({ replyTo: ans.message_id });
    // Telegram edit → QQ edit of the original.
    fake.editedMessage(ans, 'answer, fixed');
    await waitFor(() => toQQ().length === 2, 'the edit on QQ', 8_000);
    expect(toQQ()[1]).toMatchObject({ editOf: `telegram:${ROOM}:${ans.message_id}`, parts: [{ type: 'text', text: 'answer, fixed' }] });
    expect(toQQ()[1]!.id).toMatch(new RegExp(`^telegram:${ROOM}:${ans.message_id}:edit:\\d+$`));
    // QQ edit → editMessageText of the bridged copy.
    await qq.inject(QQ.room, { text: 'question (edited)', editOf: q.id });
    await waitFor(() => fake.sentTo(CHAT).some((s) => s.method === 'editMessageText'), 'the edit on Telegram', 8_000);
    expect(fake.sentTo(CHAT).find((s) => s.method === 'editMessageText')).toMatchObject({ editOf: tgId, text: '<b>alice</b>: question (edited)' });
  });

  it('a burst of 100 messages under the rate limit arrives complete and in order', async () => {
    const { fake, qq } = await setup({ config: { rateLimit: { perSecond: 200, burst: 10 } } });
    const started = Date.now();
    for (let i = 0; i < 100; i++) await qq.inject(QQ.room, { text: `m${i}` });
    await waitFor(() => fake.sentTo(CHAT).length >= 100, '100 messages', 15_000);
    expect(fake.sentTo(CHAT).map((s) => s.text)).toEqual(Array.from({ length: 100 }, (_, i) => `<b>alice</b>: m${i}`));
    // 90 beyond the burst at 200/s take at least ~450 ms: the bucket did throttle.
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
  });

  it('a 429 storm delays delivery (retry_after honoured) but loses nothing and keeps order; 5xx is retried', async () => {
    const { fake, qq } = await setup();
    fake.fail(429, { method: 'sendMessage', count: 2, retryAfter: 1 });
    fake.fail(500, { method: 'sendMessage', count: 1 });
    const started = Date.now();
    for (let i = 0; i < 5; i++) await qq.inject(QQ.room, { text: `s${i}` });
    await waitFor(() => fake.sentTo(CHAT).length >= 5, 'all five after the storm', 10_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    expect(fake.sentTo(CHAT).map((s) => s.text)).toEqual(Array.from({ length: 5 }, (_, i) => `<b>alice</b>: s${i}`));
    expect(fake.calls.filter((c) => c === 'sendMessage')).toHaveLength(8);
  });

  it("grammY's auto-retry absorbs a short 429 without the outbox seeing it", async () => {
    const { fake, qq } = await setup({ opts: { autoRetry: { maxRetryAttempts: 2 } } });
    fake.fail(429, { method: 'sendMessage', count: 1, retryAfter: 1 });
    await qq.inject(QQ.room, { text: 'once' });
    await waitFor(() => fake.sentTo(CHAT).length === 1, 'the message', 5_000);
    expect(fake.sentTo(CHAT)).toHaveLength(1);
  });

  it("falls back to plain text when Telegram says it can't parse entities, and reports a 403 as rejected", async () => {
    const { fake, qq, failures } = await setup();
    fake.fail(400, { method: 'sendMessage', description: "Bad Request: can't parse entities: Unsupported start tag \"x\" at byte offset 0" });
    await qq.inject(QQ.room, { text: 'a < b & c' });
    await waitFor(() => fake.sentTo(CHAT).length === 1, 'the plain fallback', 8_000);
    expect(fake.sentTo(CHAT)[0]).toEqual(expect.objectContaining({ text: 'alice: a < b & c' }));
    expect(fake.sentTo(CHAT)[0]!.parseMode).toBeUndefined();

    fake.fail(403, { method: 'sendMessage', description: 'Forbidden: bot was kicked from the supergroup chat' });
    await qq.inject(QQ.room, { text: 'lost cause' });
    await qq.inject(QQ.room, { text: 'next' });
    await waitFor(() => fake.sentTo(CHAT).length === 2, 'the next message', 8_000);
    expect(fake.sentTo(CHAT)[1]!.text).toBe('<b>alice</b>: next');
    expect(failures).toEqual([expect.objectContaining({ kind: 'rejected', reason: expect.stringContaining('bot was kicked') })]);
  });

  it('splits a long message into ≤4096-unit chunks Telegram accepts', async () => {
    const { fake, qq } = await setup();
    await qq.inject(QQ.room, { text: '😀<&'.repeat(2000) });
    await waitFor(() => fake.sentTo(CHAT).length >= 3, 'the chunks', 8_000);
    for (const s of fake.sentTo(CHAT)) expect(s.text!.length).toBeLessThanOrEqual(4096);
  });

  it('warns about privacy mode with the BotFather fix, and never logs the token', async () => {
    const { logLines, fake } = await setup({ fake: { canReadAllGroupMessages: false } });
    fake.fail(400, { method: 'sendMessage', description: 'Bad Request: chat not found' });
    const warn = logLines().find((l) => l.includes('privacy mode is on'));
    expect(warn).toBeDefined();
    expect(warn).toContain('/setprivacy');
    expect(logLines().join('\n')).not.toContain(TOKEN.split(':')[1]);
  });

  it('webhook mode: wrong secret refused with 401, right secret accepted and relayed', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const { fake, toQQ, tg } = await setup({
      config: { mode: 'webhook', webhook: { url: `http://127.0.0.1:${port}/tg/hook`, bindAddress: '127.0.0.1', port, secretToken: 'right_secret-1' } },
    });
    expect(tg.webhookAddress()?.port).toBe(port);
    expect(fake.webhook).toEqual({ url: `http://127.0.0.1:${port}/tg/hook`, secretToken: 'right_secret-1' });
    const update = { message: { message_id: 5, date: 1, chat: { id: CHAT, type: 'supergroup' }, from: { ...TOM, is_bot: false }, text: 'via hook' } };
    expect(await fake.postWebhook(update, 'wrong')).toBe(401);
    expect(await fake.postWebhook(update, '')).toBe(401);
    expect(toQQ()).toHaveLength(0);
    expect(await fake.postWebhook(update)).toBe(200);
    await waitFor(() => toQQ().length === 1, 'the webhook message', 8_000);
    expect(toQQ()[0]!.parts).toEqual([{ type: 'text', text: 'via hook' }]);
  });
});

describe('Telegram sends pipelined to a chat (limits raised)', () => {
  it('a refusal is overtaken at most by what was already written; for a while after it, a refusal costs no order at all', async () => {
    const { fake, qq } = await setup({ config: { rateLimit: { perSecond: 100_000, burst: 100_000 } } });
    const nums = (tag: string) => fake.sentTo(CHAT).map((s) => /^<b>alice<\/b>: (\w+) (\d+)$/.exec(s.text ?? '')).filter((m) => m?.[1] === tag).map((m) => Number(m![2]));
    const burst = async (tag: string) => {
      const ids = Array.from({ length: 60 }, (_, i) => i);
      await Promise.all(ids.map((i) => qq.inject(QQ.room, { text: `${tag} ${i}` })));
      await waitFor(() => new Set(nums(tag)).size === 60, `60 ${tag} messages`, 10_000);
      return nums(tag);
    };
    await qq.inject(QQ.room, { text: 'warm 0' }); // a chat is sent to one at a time until a send to it succeeded
    await waitFor(() => nums('warm').length === 1, 'the first message', 5_000);

    fake.fail(429, { method: 'sendMessage', count: 1, retryAfter: 1, after: 20 });
    const first = await burst('one');
    expect(fake.maxPipelined).toBeGreaterThan(1);
    const refused = first.filter((n, i) => first.indexOf(n) === i && first.slice(0, i).some((m) => m > n));
    expect(refused.length).toBeLessThanOrEqual(1);
    expect([...first].sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    for (const r of refused) {
      expect(first.filter((n) => n !== r)).toEqual(Array.from({ length: 60 }, (_, i) => i).filter((n) => n !== r));
      expect(first.indexOf(r) - r).toBeLessThanOrEqual(15);
    }

    // Within 60 s of that refusal the chat is sent to one at a time: another refusal is retried in place.
    fake.fail(429, { method: 'sendMessage', count: 1, retryAfter: 1, after: 20 });
    expect(await burst('two')).toEqual(Array.from({ length: 60 }, (_, i) => i));
    // Both refusals were met, and nothing else was sent twice.
    expect(fake.calls.filter((c) => c === 'sendMessage')).toHaveLength(1 + 61 + 61);
  }, 20_000);
});
