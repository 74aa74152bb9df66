import { startIrcd } from './lib.js';
import { benchDefaults, benchTuned } from './relay.js';
const ircd = await startIrcd();
try {
  let t = Date.now();
  console.log(await benchTuned(ircd, 50, 500), Date.now() - t);
  t = Date.now();
  console.log(await benchDefaults(ircd), Date.now() - t);
} finally { await ircd.stop(); }
