// yieldToEventLoop: a batch loop that awaits it lets other events in (as a cancel message must get
// into the worker's long loops), in order, and it is a real macrotask, not a resolved promise.
import { describe, expect, it } from 'vitest';
import { yieldToEventLoop } from './macrotask';

describe('yieldToEventLoop', () => {
  it('lets a pending timer run between the iterations of a loop (a cancel gets in)', async () => {
    let cancelled = false;
    setTimeout(() => (cancelled = true), 5);
    let i = 0;
    // a microtask instead would spin through all iterations before the timer could fire
    for (; i < 1_000_000 && !cancelled; i++) await yieldToEventLoop();
    expect(cancelled).toBe(true);
    expect(i).toBeLessThan(1_000_000);
  });

  it('resolves concurrent waiters in the order they asked', async () => {
    const order: number[] = [];
    await Promise.all([0, 1, 2, 3].map((k) => yieldToEventLoop().then(() => order.push(k))));
    expect(order).toEqual([0, 1, 2, 3]);
  });
});
