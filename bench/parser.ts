/**
 * parsePollBody throughput on poll2 bodies shaped like the captured WebQQ-era samples: group
 * messages with a font, text, system faces and custom pictures (cface), 20 events per batch.
 */
import { performance } from 'node:perf_hooks';
import { parsePollBody } from '../src/connectors/qq/webqq/events.js';

const FONT = ['font', { size: 10, color: '000000', style: [0, 0, 0], name: '宋体' }];

function groupMessage(i: number): unknown {
  const content: unknown[] = [FONT, `第${i}条消息 hello from QQ `, ['face', 14], ' 你好 '];
  if (i % 3 === 0) content.push(['cface', { name: '{9C2D0F5E-8E1D-4E5B-9F5F-1A2B3C4D5E6F}.jpg', file_id: 2_871_000_000 + i, key: 'bh0KxKQOQ8u4YDku', server: '123.138.154.167:8000' }], ' ');
  if (i % 4 === 0) content.push(['face', 21], ['face', 13]);
  return {
    poll_type: 'group_message',
    value: {
      content, from_uin: 2_390_284_123, group_code: 1_720_335_129, info_seq: 346_167_134, msg_id: 10_000 + i, msg_id2: 545_490 + i,
      msg_type: 43, reply_ip: 176_756_886, send_uin: 2_440_652_742, seq: 1000 + i, time: 1_420_000_000 + i, to_uin: 2_769_546_520,
    },
  };
}

export interface ParserResult {
  eventsPerSec: number;
  mbPerSec: number;
  batchBytes: number;
  eventsPerBatch: number;
}

export function benchParser(durationMs = 3000, eventsPerBatch = 20): ParserResult {
  const bodies = Array.from({ length: 50 }, (_, b) =>
    JSON.stringify({ retcode: 0, result: Array.from({ length: eventsPerBatch }, (_, i) => groupMessage(b * eventsPerBatch + i)) }),
  );
  const check = parsePollBody(bodies[0]!);
  if (check.kind !== 'events' || check.events.length !== eventsPerBatch) throw new Error(`the sample body did not parse: ${JSON.stringify(check).slice(0, 200)}`);
  // Warm-up, so the JIT has compiled the parser before the clock starts.
  for (let i = 0; i < 2000; i++) parsePollBody(bodies[i % bodies.length]!);
  let events = 0;
  let bytes = 0;
  const t0 = performance.now();
  let elapsed = 0;
  for (let i = 0; elapsed < durationMs; i++) {
    const body = bodies[i % bodies.length]!;
    const r = parsePollBody(body);
    if (r.kind === 'events') events += r.events.length;
    bytes += Buffer.byteLength(body);
    if (i % 100 === 0) elapsed = performance.now() - t0;
  }
  elapsed = performance.now() - t0;
  return {
    eventsPerSec: (events / elapsed) * 1000,
    mbPerSec: (bytes / 1024 / 1024 / elapsed) * 1000,
    batchBytes: Math.round(bodies.reduce((s, b) => s + Buffer.byteLength(b), 0) / bodies.length),
    eventsPerBatch,
  };
}
