/** The store's disk fills up under the running bridge; see store-failure.ts for what is guaranteed. */
import fs from 'node:fs';
import path from 'node:path';
import { storeFailureScenario } from './store-failure.js';

/** Writes zeros until the filesystem says ENOSPC. */
function fillDisk(mnt: string): void {
  const fd = fs.openSync(path.join(mnt, 'filler'), 'a');
  try {
    for (const size of [64 * 1024, 512]) {
      try {
        for (;;) fs.writeSync(fd, Buffer.alloc(size));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}

storeFailureScenario({
  what: 'fills up',
  tag: 'full',
  breakFs: fillDisk,
  repairFs: (mnt) => fs.rmSync(path.join(mnt, 'filler')),
  reason: /disk full|SQLITE_FULL|ENOSPC/i,
});
