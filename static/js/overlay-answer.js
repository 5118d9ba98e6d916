// The server's answer an overlay of the graph shows (the blast radius: impact.js; the
// comparison with an earlier graph: diff-overlay.js), and when to ask for it again: its
// marks are put back after every update (a snapshot removes them), and the answer is asked
// for again at most every `everyMs` (each ask reads the whole graph on the server).

/**
 * `isOn()`: the overlay is chosen and there is a graph; `mark(answer)` and `unmark()` put
 * its marks on the graph and take them off; `render(answer, error)` draws its list;
 * `load()` asks the server (and calls `asked()`, then `keep(answer)`).
 */
export function createOverlayAnswer({ everyMs, isOn, mark, unmark, render, load }) {
  let shown = null; // the last answer
  let askedAt = 0;

  return {
    shown: () => shown,
    keep(answer) {
      shown = answer;
    },
    asked() {
      askedAt = Date.now();
    },
    /** Another choice: no answer, ask at once. */
    forget() {
      shown = null;
      askedAt = 0;
    },
    /** After a graph update: the marks again, a fresh answer now and then. */
    refresh() {
      if (!isOn()) return;
      if (shown) mark(shown);
      if (askedAt === 0 || Date.now() - askedAt > everyMs) load();
    },
    /** Another graph (the scope changed): ask again when it arrives. */
    reload() {
      shown = null;
      askedAt = 0;
      unmark();
      render(null, null);
    },
  };
}
