// Per-viewer refresh. The server refreshes a scope once per tick (MESHLENS_REFRESH_SECONDS)
// for every viewer of it: one set of Prometheus queries, however many watch. A viewer's
// own refresh choice therefore changes only when this page applies what the server sends:
// - at the server's period: every message as it comes;
// - slower (30s, 5m): messages are held, in order, and applied together at the viewer's
//   pace (held deltas stay a chain from the version on screen; a snapshot makes everything
//   held before it moot). The socket stays open, which keeps the scope live and cached;
// - paused: the socket is closed (nothing to hold for an unknown time); resuming opens it
//   again, and the server's first message is its current graph.

import { parseDuration } from "./labels.js";

// Held messages beyond this: drop them and reconnect at the next flush for a snapshot.
const MAX_HELD = 200;

/**
 * `serverSeconds`: the server's tick. `restart()`: reconnect for a fresh snapshot (a held
 * message that no longer applies). Returns { wrap, set, flushNow, held }.
 */
export function createPacer({ serverSeconds, restart }) {
  let periodMs = 0; // 0: apply as messages come
  let timer = null;
  let held = [];
  let overflowed = false;
  // The first graph of a connection is shown at once: it is the view the user asked for.
  let awaitingFirst = true;

  async function flush() {
    const batch = held;
    held = [];
    if (overflowed) {
      overflowed = false;
      restart();
      return;
    }
    for (const [handler, message] of batch) {
      if ((await handler(message)) === false) {
        restart();
        return;
      }
    }
  }

  function hold(handler, message) {
    if (message.type === "graph.snapshot") held = [];
    held.push([handler, message]);
    if (held.length > MAX_HELD) {
      held = [];
      overflowed = true;
    }
    return true;
  }

  /** The live handlers, paced: graph messages wait for the viewer's period. */
  function wrap(handlers) {
    const paced = { ...handlers };
    for (const type of ["graph.snapshot", "graph.delta"]) {
      const handler = handlers[type];
      paced[type] = (message) => {
        if (!periodMs || (awaitingFirst && type === "graph.snapshot")) {
          awaitingFirst = false;
          return handler(message);
        }
        return hold(handler, message);
      };
    }
    return paced;
  }

  /** Apply messages every `refresh` ("15s", "5m"); at or under the server's tick, at once. */
  function set(refresh) {
    if (timer) window.clearInterval(timer);
    timer = null;
    const seconds = parseDuration(refresh);
    periodMs = seconds > serverSeconds ? seconds * 1000 : 0;
    if (periodMs) timer = window.setInterval(flush, periodMs);
    else if (held.length || overflowed) flush();
  }

  return {
    wrap,
    set,
    /** A new connection: its first snapshot is shown at once, and nothing held before. */
    connected() {
      awaitingFirst = true;
      held = [];
    },
    flushNow: flush,
    held: () => held.length,
  };
}
