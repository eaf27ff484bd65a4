/**
 * What the mvnet datapath's Worker loop (`datapath.ts`) does before it
 * turns kicks on and sleeps: it yields its CPU a few times
 * ({@linkcode IDLE_YIELDS}, sched_yield(2)) and looks again. When the
 * sender shares the datapath's CPU (pktgen, or any busy thread of the
 * guest), the sender runs meanwhile and queues more frames, so the next
 * batch is larger and there are fewer kicks, wake-ups and interrupts; on a
 * CPU of its own it is a short busy-poll (each yield returns at once).
 *
 * @module
 */

import { libc } from "../sys/mod.ts";

/**
 * How many times the Worker's loop yields its CPU before it turns kicks on
 * and sleeps (see the module doc). Measured in bench/mvnet_bench.ts with the
 * automatic placement (datapath on pktgen's CPU): 1 to 16 yields all cut
 * datapath wake-ups from 4-20 to under 0.5 per 1000 frames and TX
 * interrupts about 2-4-fold at 1500 bytes; the count matters only on an
 * otherwise idle CPU, where it bounds the busy-poll.
 */
export const IDLE_YIELDS = 8;

/**
 * Yields the CPU (`yieldCpu`) up to `tries` times until `ready()` says
 * true; returns whether it did (false at once when `tries` is 0).
 */
export function yieldUntil(
  ready: () => boolean,
  options: { tries: number; yieldCpu: () => void },
): boolean {
  for (let i = 0; i < options.tries; i++) {
    options.yieldCpu();
    if (ready()) return true;
  }
  return false;
}

/** sched_yield(2) on the calling thread. */
export function schedYield(): void {
  libc().sched_yield();
}
