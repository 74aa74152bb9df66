/**
 * The demo's scripted QQ group conversation, played by the simulator's scenario player. Members
 * and the group come from the simulator's default world (the captured seeds).
 */
import { PNG } from 'pngjs';

export const DEMO_GROUP = 346167134;
export const DEMO_ACCOUNT = { qq: 2769546520, password: '123456' };

const HUXI = 2440652742; // 呼吸 (糗百)
const ROBOT = 2899268194; // robot
const OPS = 2041084648; // robot ops

/** A small picture, so the demo shows an image crossing the bridge as a media-server link. */
export function demoPicture(): string {
  const png = new PNG({ width: 48, height: 48 });
  for (let y = 0; y < 48; y++) {
    for (let x = 0; x < 48; x++) {
      const i = (y * 48 + x) * 4;
      const inside = (x - 24) ** 2 + (y - 24) ** 2 < 400;
      png.data[i] = inside ? 0xff : 0x20;
      png.data[i + 1] = inside ? 0xc0 : 0x60;
      png.data[i + 2] = inside ? 0x00 : 0xc0;
      png.data[i + 3] = 0xff;
    }
  }
  return PNG.sync.write(png).toString('base64');
}

export interface ScenarioStep {
  afterMs: number;
  inject: Record<string, unknown>;
}

export function demoScenario(): ScenarioStep[] {
  const say = (afterMs: number, from: number, text: string, extra: Record<string, unknown> = {}): ScenarioStep => ({
    afterMs,
    inject: { group: DEMO_GROUP, from, text, ...extra },
  });
  return [
    say(1500, HUXI, '大家好! Hello from the QQ group 👋'),
    say(3000, ROBOT, 'This message was written in QQ and crossed the bridge to IRC.'),
    say(3000, OPS, '表情也能过去: ', { faces: [14, 13] }),
    say(4000, HUXI, 'Here is a picture:', { image: { name: 'sun.png', mime: 'image/png', data: demoPicture() } }),
    say(4000, ROBOT, 'Say something in #qqbridge-demo and it appears in QQ.'),
    say(6000, OPS, 'Still here. Messages keep flowing every few seconds.'),
  ];
}
