import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../../src/connectors/qq/account/clock.js';
import { classifySendFailure } from '../../../../src/connectors/qq/account/failures.js';
import { SendScheduler } from '../../../../src/connectors/qq/account/scheduler.js';
import { AccountState, accountNotice, type AccountEvent } from '../../../../src/connectors/qq/account/state.js';

const refused = classifySendFailure({ backend: 'onebot', implementation: 'go-cqhttp', retcode: 100, message: 'SEND_MSG_API_ERROR' });
const napcatTimeout = classifySendFailure({ backend: 'onebot', retcode: 1200, message: 'Timeout: NTEvent serviceAndMethod:NodeIKernelMsgService/sendMsg' });
const transient = classifySendFailure({ backend: 'onebot', noAnswer: 'timeout' });
const offline = classifySendFailure({ backend: 'milky', retcode: -403, message: '未处于登录状态' });

function setup(random = () => 1 - Number.EPSILON) {
  const clock = new ManualClock(Date.UTC(2026, 0, 1, 14, 2));
  const events: AccountEvent[] = [];
  const acct = new AccountState({ clock, random, onEvent: (e) => events.push(e) });
  return { clock, events, acct };
}

describe('AccountState', () => {
  it('a refusal starts one episode; probes back off 30 s doubling to 30 min; a successful probe ends it', () => {
    const { clock, events, acct } = setup();
    const t0 = clock.now();
    acct.onFailure(refused);
    acct.onFailure(refused); // more failures of sends already in flight: still one episode
    expect(events).toHaveLength(1);
    expect(acct.status).toMatchObject({ state: 'refused', since: t0, step: 0, nextProbeAt: t0 + 30_000 });
    expect(acct.permit()).toBe(30_000);
    const probeTimes: number[] = [];
    for (let step = 0; step < 8; step++) {
      const s = acct.status;
      if (s.state !== 'refused') throw new Error('left refused');
      // @ts-expect-error ManualClock's time is set directly for this pure test
      clock.t = s.nextProbeAt;
      expect(acct.permit()).toBe(0); // the probe
      expect(acct.permit()).toBe(Infinity); // and nothing else until it is answered
      probeTimes.push(clock.now() - t0);
      acct.onFailure(refused);
    }
    const gaps = probeTimes.map((t, i) => t - (i ? probeTimes[i - 1]! : 0));
    expect(gaps).toEqual([30_000, 60_000, 120_000, 240_000, 480_000, 960_000, 1_800_000, 1_800_000]);
    expect(events).toHaveLength(1);
    // @ts-expect-error see above
    clock.t = (acct.status as { nextProbeAt: number }).nextProbeAt;
    expect(acct.permit()).toBe(0);
    acct.onSuccess();
    expect(acct.status).toEqual({ state: 'online' });
    expect(events.map((e) => e.type)).toEqual(['episode', 'recovered']);
    expect(acct.episodes.refused).toBe(1);
  });

  it('back-off steps are jittered, never above the cap', () => {
    const { acct } = setup(() => 0);
    expect(acct.backoff(0)).toBe(15_000);
    expect(acct.backoff(20)).toBe(900_000);
    const { acct: hi } = setup(() => 0.999999);
    expect(hi.backoff(20)).toBeLessThanOrEqual(1_800_000);
  });

  it('repeated NapCat sendMsg timeouts are a refusal; a success between resets the count', () => {
    const { events, acct } = setup();
    acct.onFailure(napcatTimeout);
    acct.onFailure(napcatTimeout);
    acct.onSuccess();
    acct.onFailure(napcatTimeout);
    acct.onFailure(napcatTimeout);
    expect(acct.status.state).toBe('online');
    acct.onFailure(napcatTimeout);
    expect(acct.status.state).toBe('refused');
    expect(events).toHaveLength(1);
    acct.onFailure(transient);
    expect(events).toHaveLength(1);
  });

  it('plain transient failures never change the account', () => {
    const { events, acct } = setup();
    for (let i = 0; i < 20; i++) acct.onFailure(transient);
    expect(acct.status.state).toBe('online');
    expect(events).toEqual([]);
  });

  it('offline: no sends but one probe per step, one notice, resumes on the online signal', () => {
    const { clock, events, acct } = setup();
    acct.setOffline('bot_offline: 账号在其他设备登录');
    acct.onFailure(offline);
    acct.setOffline('again');
    expect(events).toHaveLength(1);
    expect(acct.permit()).toBe(30_000);
    // @ts-expect-error ManualClock's time is set directly for this pure test
    clock.t += 30_000;
    expect(acct.permit()).toBe(0); // one probe per step
    expect(acct.permit()).toBe(Infinity);
    acct.onFailure(offline);
    expect(acct.status).toMatchObject({ state: 'offline', step: 1, probing: false });
    expect(events).toHaveLength(1);
    acct.setOnline();
    expect(acct.permit()).toBe(0);
    expect(events.map((e) => e.type)).toEqual(['episode', 'recovered']);
  });

  it('says the episode in one line with the time, what waits and the next try', () => {
    const { events, acct } = setup();
    acct.onFailure(refused);
    expect(accountNotice(events[0]!, 12)).toBe("QQ is refusing this account's messages since 14:02 UTC (risk control?); 12 messages waiting; next try 14:02 UTC.");
    acct.setOffline('x');
    expect(accountNotice(events[1]!, 1)).toContain('QQ account offline: x (since 14:02 UTC); 1 message waiting');
  });

  it('drives the scheduler: while refused only one probe per step reaches QQ, then everything in order', async () => {
    const clock = new ManualClock(0);
    const acct = new AccountState({ clock, random: () => 0.5, backoffMinMs: 1000, backoffMaxMs: 8000 });
    let refusing = true;
    const attempts: { at: number; label: string }[] = [];
    const sched = new SendScheduler({ pacing: { intervalMs: 10, jitter: 0, burst: 1 }, clock, gate: () => acct.permit() });
    const send = (room: string, label: string) =>
      sched.run(room, async () => {
        attempts.push({ at: clock.now(), label });
        if (refusing) {
          acct.onFailure(refused);
          sched.wake();
          throw new Error('refused');
        }
        acct.onSuccess();
        sched.wake();
        return label;
      });
    // One worker per room, as the outbox has: the head message is retried until it goes, in order.
    const worker = async (room: string, labels: string[]): Promise<string[]> => {
      const out: string[] = [];
      for (const label of labels) {
        for (;;) {
          try {
            out.push(await send(room, label));
            break;
          } catch {
            /* retried */
          }
        }
      }
      return out;
    };
    const r1 = worker('group:1', ['a1', 'a2', 'a3']);
    const r2 = worker('group:2', ['b1', 'b2']);
    await clock.advance(20_000);
    const duringRefusal = attempts.length;
    // The first send of each room is refused, then one probe per step (~0.75 s, 1.5 s, 3 s, 6 s…): few attempts.
    expect(duringRefusal).toBeLessThanOrEqual(8);
    refusing = false;
    await clock.advance(10_000);
    expect(await r1).toEqual(['a1', 'a2', 'a3']);
    expect(await r2).toEqual(['b1', 'b2']);
  });
});
