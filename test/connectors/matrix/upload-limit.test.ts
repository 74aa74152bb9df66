/**
 * A picture over the homeserver's upload limit (413 M_TOO_LARGE, as Synapse answers past
 * max_upload_size) reaches the Matrix room as its media-server link instead of being dropped.
 */
import { afterAll, afterEach, expect, it } from 'vitest';
import { cleanup, GROUP, PNG, removeRoot, setup, waitFor } from './harness.js';

afterEach(cleanup);
afterAll(removeRoot);

it('a picture over the upload limit arrives as its link; one within it as m.image', async () => {
  const b = await setup();
  b.hs.maxUploadBytes = PNG.length - 1;
  const big = await b.media.put(PNG, 'image/png');
  await b.qq.inject(GROUP, { sender: { id: '10003', displayName: 'Pic', puppet: true }, parts: [{ type: 'image', mediaId: big.mediaId, mime: 'image/png', url: 'http://media.example/m/big.png' }] });
  await waitFor(() => b.hs.messages(b.room).length === 1, 'the link in the room');
  const first = b.hs.messages(b.room)[0]!.content as { msgtype: string; body: string };
  expect(first.msgtype).toBe('m.text');
  expect(first.body).toContain('[image] http://media.example/m/big.png');
  expect(b.hs.uploads).toEqual([]);

  b.hs.maxUploadBytes = PNG.length;
  const ok = await b.media.put(Buffer.concat([PNG]), 'image/png');
  await b.qq.inject(GROUP, { sender: { id: '10003', displayName: 'Pic', puppet: true }, parts: [{ type: 'image', mediaId: ok.mediaId, mime: 'image/png' }] });
  await waitFor(() => b.hs.messages(b.room).length === 2, 'the picture in the room');
  expect((b.hs.messages(b.room)[1]!.content as { msgtype: string }).msgtype).toBe('m.image');
});
