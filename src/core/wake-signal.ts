/** A wake-up a sleeping worker can be given early (new item, stop, resume, connection). */
export class Signal {
  private fire: (() => void) | undefined;
  private pending = false;

  notify(): void {
    this.pending = true;
    this.fire?.();
  }

  async wait(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.max(0, ms));
      const self = this;
      function done() {
        clearTimeout(timer);
        self.fire = undefined;
        resolve();
      }
      this.fire = done;
    });
    this.pending = false;
  }
}
