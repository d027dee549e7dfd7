// Yielding to the event loop between batches of a long loop (so that a cancel request or another
// message gets in) without the ≥ 4 ms clamp that HTML timers put on a setTimeout(0) from the 5th
// nested one on: the batch loops await a model run and then the yield inside one timer task chain,
// so every yield after the 5th waited 4 ms (measured in a Chromium worker: 4.2 ms per yield, 0.006 ms
// for a MessageChannel message; an hour's 361 decoder batches lost 1.5 s to it, its analysis as much).

type Immediate = (fn: () => void) => unknown;
const immediate = (globalThis as { setImmediate?: Immediate }).setImmediate;
let channel: MessageChannel | null = null;
const waiting: (() => void)[] = [];

/** A promise resolved in a new macrotask, at once (setImmediate in Node, a MessageChannel message in browsers), not after a clamped timer. */
export function yieldToEventLoop(): Promise<void> {
  if (immediate) return new Promise((r) => void immediate(r));
  if (typeof MessageChannel === 'undefined') return new Promise((r) => setTimeout(r, 0));
  if (!channel) {
    channel = new MessageChannel();
    // one message per waiter, delivered in order: each wakes the oldest waiter
    channel.port1.onmessage = () => waiting.shift()?.();
  }
  const port = channel.port2;
  return new Promise((r) => {
    waiting.push(r);
    port.postMessage(null);
  });
}
