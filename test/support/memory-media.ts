import type { MediaAccess } from '../../src/core/connector.js';

/**
 * The media store's interface over a Map, for connector tests that do not start the media
 * server (its own tests do). With `publicUrls` (the default) every item gets a URL, as a
 * configured media server would give; without, none does, as with the server disabled.
 */
export function memoryMedia(opts: { publicUrls?: boolean } = {}): MediaAccess & { items: Map<string, { data: Uint8Array; mime: string }> } {
  const publicUrls = opts.publicUrls ?? true;
  const items = new Map<string, { data: Uint8Array; mime: string }>();
  const url = (id: string) => (publicUrls ? `http://media.test/${id}` : undefined);
  return {
    items,
    async put(data, mime) {
      const mediaId = `m${items.size + 1}`;
      items.set(mediaId, { data, mime });
      const u = url(mediaId);
      return u ? { mediaId, url: u } : { mediaId };
    },
    async putText(text) {
      return this.put(new TextEncoder().encode(text), 'text/plain; charset=utf-8');
    },
    async get(id) {
      return items.get(id);
    },
    urlFor: (id) => (items.has(id) ? url(id) : undefined),
  };
}
