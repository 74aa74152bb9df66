import { mkdir, mkdtemp, rm, stat, writeFile, readdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { createMedia, isMediaError, mediaConfigSchema, type MediaService } from '../../src/media/index.js';

const DAY = 24 * 60 * 60 * 1000;
// A 1×1 transparent PNG.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=',
  'base64',
);

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** Sends the request target byte for byte, so no client library normalises the path first. */
function raw(port: number, method: string, target: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    sock.on('connect', () => sock.write(`${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`, 'latin1'));
    sock.on('data', (c) => chunks.push(c));
    sock.on('error', reject);
    sock.on('end', () => {
      const all = Buffer.concat(chunks);
      const sep = all.indexOf('\r\n\r\n');
      const head = all.subarray(0, sep).toString('latin1').split('\r\n');
      const status = Number(head[0]!.split(' ')[1]);
      const headers: Record<string, string> = {};
      for (const line of head.slice(1)) {
        const i = line.indexOf(':');
        headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      resolve({ status, headers, body: all.subarray(sep + 4) });
    });
  });
}

describe('media server', () => {
  let stateDir: string;
  let media: MediaService;
  let clock: number;
  let port: number;

  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'qqbridge-media-'));
    clock = Date.parse('2026-01-01T00:00:00Z');
    const config = mediaConfigSchema.parse({ port: 0, maxBytes: 1024 * 1024, maxAgeDays: 30 });
    media = createMedia({ stateDir, media: config }, silentLogger, { now: () => clock });
    await media.server.start();
    port = Number(new URL(media.server.url!).port);
  });

  afterEach(async () => {
    await media.server.stop();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('stores a picture under its sha256 and serves it with the right headers', async () => {
    const { mediaId, url } = await media.access.put(PNG, 'image/png');
    expect(mediaId).toBe(`${createHash('sha256').update(PNG).digest('hex')}.png`);
    expect(url).toBe(`${media.server.url}/media/${mediaId}`);

    const res = await fetch(url!);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-disposition')).toBe('inline');
    expect(res.headers.get('cache-control')).toMatch(/max-age=\d+/);
    expect(Buffer.from(await res.arrayBuffer()).equals(PNG)).toBe(true);

    const head = await fetch(url!, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(PNG.length));

    const again = await media.access.get(mediaId);
    expect(again?.mime).toBe('image/png');
    expect(Buffer.from(again!.data).equals(PNG)).toBe(true);
  });

  it('stores the same bytes once, private to the bridge (mode 0600)', async () => {
    const a = await media.access.put(PNG, 'image/png');
    const b = await media.access.put(PNG, 'IMAGE/PNG; foo=bar');
    expect(b.mediaId).toBe(a.mediaId);
    expect(await readdir(join(stateDir, 'media'))).toEqual([a.mediaId]);
    const st = await stat(join(stateDir, 'media', a.mediaId));
    expect(st.mode & 0o777).toBe(0o600);
  });

  it('serves text pastes as UTF-8 plain text', async () => {
    const text = '很长的消息 — a message too long for IRC\n'.repeat(50);
    const { mediaId, url } = await media.access.putText(text);
    expect(mediaId).toMatch(/^[0-9a-f]{64}\.txt$/);
    const res = await fetch(url!);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await res.text()).toBe(text);
  });

  it('refuses files over the size limit and types outside the allow-list', async () => {
    const big = new Uint8Array(1024 * 1024 + 1);
    const tooLarge = await media.access.put(big, 'image/jpeg').catch((e: unknown) => e);
    expect(isMediaError(tooLarge) && tooLarge.code).toBe('too-large');
    expect((tooLarge as Error).message).toMatch(/larger than the media limit of 1 MiB/);

    for (const mime of ['text/html', 'image/svg+xml', 'application/javascript', 'application/octet-stream']) {
      const err = await media.access.put(PNG, mime).catch((e: unknown) => e);
      expect(isMediaError(err) && err.code, mime).toBe('unsupported-type');
    }
    expect(await readdir(join(stateDir, 'media')).catch(() => [])).toEqual([]);
  });

  it('answers only GET and HEAD', async () => {
    const { mediaId } = await media.access.put(PNG, 'image/png');
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE']) {
      const res = await raw(port, method, `/media/${mediaId}`);
      expect(res.status, method).toBe(405);
      expect(res.headers.allow).toBe('GET, HEAD');
    }
  });

  it('never serves anything outside the media directory, however the path is encoded', async () => {
    const secret = 'TOP-SECRET-CONFIG';
    const secretHash = createHash('sha256').update(secret).digest('hex');
    // Files next to the media dir, with names a sloppy server would happily serve.
    await writeFile(join(stateDir, `${secretHash}.txt`), secret);
    await writeFile(join(stateDir, 'config.yaml'), secret);
    const { mediaId } = await media.access.put(PNG, 'image/png');

    const attempts = [
      `/media/../${secretHash}.txt`,
      `/media/%2e%2e/${secretHash}.txt`,
      `/media/%2E%2E/${secretHash}.txt`,
      `/media/..%2f${secretHash}.txt`,
      `/media/%2e%2e%2f${secretHash}.txt`,
      `/media/%252e%252e%252f${secretHash}.txt`,
      `/media/..%5c${secretHash}.txt`,
      `/media/..\\${secretHash}.txt`,
      `/media\\..\\${secretHash}.txt`,
      `/media/${secretHash}.txt/../../config.yaml`,
      `/media/./../config.yaml`,
      `/media//${join(stateDir, 'config.yaml')}`,
      `${join(stateDir, 'config.yaml')}`,
      `/media/${mediaId}%00.txt`,
      `/media/${mediaId}\u0000`,
      `/media/%c0%ae%c0%ae/${secretHash}.txt`,
      `http://127.0.0.1/media/../${secretHash}.txt`,
      `/media/${mediaId}/..`,
      `/media/`,
      `/media`,
      `/`,
      `/media/${mediaId.toUpperCase()}`,
      `/media/${mediaId.replace('.png', '.html')}`,
      `/media/${'0'.repeat(64)}.png`,
      '*',
    ];
    for (const target of attempts) {
      const res = await raw(port, 'GET', target);
      expect([400, 404], target).toContain(res.status);
      expect(res.body.toString('latin1'), target).not.toContain(secret);
      expect(res.body.toString('latin1'), target).not.toContain(mediaId); // no listing
    }
    // The real file still works through the same raw client.
    expect((await raw(port, 'GET', `/media/${mediaId}`)).status).toBe(200);
    expect((await raw(port, 'GET', `/media/${mediaId}?size=large`)).status).toBe(200);
  });

  it('sweeps files older than maxAgeDays and stops serving them', async () => {
    const old = await media.access.put(PNG, 'image/png');
    clock += 20 * DAY;
    const recent = await media.access.putText('still fresh');
    clock += 11 * DAY; // old is 31 days old, recent 11

    expect(await media.access.get(old.mediaId)).toBeUndefined();
    expect((await fetch(old.url!)).status).toBe(404);
    expect(await media.cache.sweep()).toBe(1);
    expect(await readdir(join(stateDir, 'media'))).toEqual([recent.mediaId]);
    expect((await fetch(recent.url!)).status).toBe(200);
  });

  it('putting a file again keeps it from expiring', async () => {
    const first = await media.access.put(PNG, 'image/png');
    clock += 25 * DAY;
    await media.access.put(PNG, 'image/png');
    clock += 25 * DAY;
    expect(await media.cache.sweep()).toBe(0);
    expect((await fetch(first.url!)).status).toBe(200);
  });
});

describe('media config', () => {
  it('uses publicUrl for links and hands none out when disabled', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'qqbridge-media-'));
    try {
      const pub = createMedia(
        { stateDir, media: mediaConfigSchema.parse({ port: 0, publicUrl: 'https://bridge.example.org/qq/' }) },
        silentLogger,
      );
      const { url } = await pub.access.put(PNG, 'image/png');
      expect(url).toMatch(/^https:\/\/bridge\.example\.org\/qq\/media\/[0-9a-f]{64}\.png$/);

      const off = createMedia({ stateDir, media: mediaConfigSchema.parse({ enabled: false }) }, silentLogger);
      await off.server.start();
      const stored = await off.access.put(PNG, 'image/png');
      expect(stored.url).toBeUndefined();
      expect(off.server.url).toBeUndefined();
      expect((await off.access.get(stored.mediaId))?.mime).toBe('image/png');
      await off.server.stop();
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }
  });

  it('stores pictures again once a media directory that could not be created becomes creatable', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'qqbridge-media-'));
    // A file where the state directory should be: mkdir <stateDir>/media fails (even as root).
    const stateDir = join(parent, 'state');
    await writeFile(stateDir, 'not a directory');
    try {
      const media = createMedia({ stateDir, media: mediaConfigSchema.parse({ enabled: false }) }, silentLogger);
      await expect(media.access.put(PNG, 'image/png')).rejects.toThrow(/ENOTDIR|ENOENT|EEXIST/);
      await expect(media.access.put(PNG, 'image/png')).rejects.toThrow();

      await rm(stateDir);
      await mkdir(stateDir);
      const { mediaId } = await media.access.put(PNG, 'image/png');
      expect((await media.access.get(mediaId))?.data).toEqual(new Uint8Array(PNG));
      expect((await stat(join(stateDir, 'media', mediaId))).isFile()).toBe(true);
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });

  it('defaults to 127.0.0.1:8780, 10 MiB, 30 days', () => {
    expect(mediaConfigSchema.parse({})).toEqual({
      enabled: true, bindAddress: '127.0.0.1', port: 8780, maxBytes: 10 * 1024 * 1024, maxAgeDays: 30,
    });
  });
});
