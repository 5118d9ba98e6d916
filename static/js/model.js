// The main thread's side of the graph model worker (model-worker.js): requests in, answers
// and drawing parts out. Every request returns a promise of its final answer; the parts
// that come before it (what to remove, add and update in Cytoscape) go to `onPart` as they
// arrive ({part, counts, folds}), each in a task of its own, so the page draws and answers
// input between them.

export function createModel({ onPart, healthRules = null }) {
  const worker = new Worker(new URL("./model-worker.js", import.meta.url), { type: "module" });
  const pending = new Map(); // seq -> resolve
  let seq = 0;

  worker.addEventListener("message", (event) => {
    const answer = event.data;
    if (answer.part) {
      onPart(answer);
      return;
    }
    const resolve = pending.get(answer.seq);
    pending.delete(answer.seq);
    if (resolve) resolve(answer);
  });
  // A worker that fails (its script did not load) answers nothing: say so, and let every
  // request waiting on it end with the error, so that the page reconnects, not hangs.
  worker.addEventListener("error", (event) => {
    console.error(`meshlens: the graph model worker failed: ${event.message}`);
    for (const [mine, resolve] of pending) resolve({ seq: mine, done: true, kind: "none", error: event.message || "worker failed" });
    pending.clear();
  });

  function request(message) {
    seq += 1;
    const mine = seq;
    return new Promise((resolve) => {
      pending.set(mine, resolve);
      worker.postMessage({ ...message, seq: mine });
    });
  }

  // First of all: the rules its summed edges are judged by (fold-health.js).
  request({ op: "rules", rules: healthRules });

  return {
    /** A graph.snapshot (inline `graph` or `href`); `reset`: a new graph, folded afresh. */
    snapshot: (message, reset) => request({ op: "snapshot", graph: message.graph, href: message.href, reset }),
    /** A graph.delta (inline, or `href`). */
    delta: (message) => request({ op: "delta", delta: message.href ? null : message, href: message.href }),
    fold: (action, namespace) => request({ op: "fold", action, namespace }),
    /** The Find and Hide expressions (text): a big graph is marked and folded by them. */
    find: (find, hide) => request({ op: "find", find, hide }),
    clear: () => request({ op: "clear" }),
  };
}
