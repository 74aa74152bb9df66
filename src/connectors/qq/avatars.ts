/**
 * Sender avatars for the neutral model, when a backend's picture URLs work only inside its session
 * (WebQQ's face URLs need the session's cookies), so no other network could fetch them; the picture is copied into the media store once per QQ number and its
 * media URL is what other networks see. The first message of a sender waits at most `waitMs` for
 * it: a slow face server delays no message for long, and the fetch still lands for the next one.
 */
import type { MediaAccess } from '../../core/connector.js';
import type { Logger } from '../../log.js';

type Picture = { data: Buffer; mime: string };

const MAX_ENTRIES = 5000;

export class AvatarUrls {
  private readonly byQq = new Map<number, Promise<string | undefined>>();

  constructor(
    private readonly deps: {
      media: () => MediaAccess | undefined;
      log?: () => Logger | undefined;
      waitMs?: number;
    },
  ) {}

  /** The media URL of the sender's avatar, when it has a QQ number and the media store gives URLs. */
  async of(qq: number | undefined, download: () => Promise<Picture>): Promise<string | undefined> {
    if (qq === undefined) return undefined;
    let p = this.byQq.get(qq);
    if (!p) {
      p = this.fetch(download, qq);
      this.byQq.set(qq, p);
      while (this.byQq.size > MAX_ENTRIES) this.byQq.delete(this.byQq.keys().next().value!);
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((r) => { timer = setTimeout(() => r(undefined), this.deps.waitMs ?? 3000); });
    try {
      return await Promise.race([p, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async fetch(download: () => Promise<Picture>, qq: number): Promise<string | undefined> {
    try {
      const media = this.deps.media();
      if (!media) return undefined;
      const pic = await download();
      return (await media.put(pic.data, pic.mime)).url;
    } catch (err) {
      // Forgotten, so a later message of this sender tries again.
      this.byQq.delete(qq);
      this.deps.log?.()?.debug({ qq, err: (err as Error).message }, 'QQ avatar could not be fetched');
      return undefined;
    }
  }
}
