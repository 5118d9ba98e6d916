// Graphs of past moments from the API (`query_time`), fetched ahead of when they are shown.
//
// A settled past graph comes gzip-compressed with `Cache-Control: immutable` (the API's
// past_response): a frame fetched here ahead of the playhead lands in the browser's HTTP
// cache, and the model worker's fetch of the same address, when the frame is shown, reads
// it from there. Only the worker parses the graph; this side only waits for the bytes.

// Frames fetched at once: each is a graph build on the server, which shares its cores.
const PARALLEL = 2;
// Frames kept track of; older ones are forgotten (the browser's cache may still hold them).
const KEPT = 240;

/** `hrefAt(t)`: the API address of the graph at Unix time t. */
export function createFrames(hrefAt) {
  const known = new Map(); // t -> Promise<null | error text>
  const loaded = new Set(); // frames whose answer has come
  const queue = [];
  let running = 0;

  function load(t) {
    return fetch(hrefAt(t), { credentials: "same-origin" })
      .then(async (response) => {
        if (response.ok) {
          await response.arrayBuffer(); // read to the end: the cache entry is then complete
          return null;
        }
        const body = await response.json().catch(() => ({}));
        return body.error || `HTTP ${response.status}`;
      })
      .catch((error) => `the graph could not be fetched (${error.message})`);
  }

  function pump() {
    while (running < PARALLEL && queue.length) {
      const { t, resolve } = queue.shift();
      running += 1;
      load(t).then((result) => {
        running -= 1;
        loaded.add(t);
        resolve(result);
        pump();
      });
    }
  }

  /** Fetch frame t (once); resolves to null when it is ready, else an error text. */
  function get(t, { first = false } = {}) {
    if (known.has(t)) {
      // Wanted now: move it to the front if it still waits its turn.
      const waiting = queue.findIndex((item) => item.t === t);
      if (first && waiting > 0) queue.unshift(...queue.splice(waiting, 1));
      return known.get(t);
    }
    const promise = new Promise((resolve) => {
      if (first) queue.unshift({ t, resolve });
      else queue.push({ t, resolve });
    });
    known.set(t, promise);
    if (known.size > KEPT) {
      const oldest = known.keys().next().value;
      known.delete(oldest);
      loaded.delete(oldest);
    }
    pump();
    return promise;
  }

  return {
    get,
    href: hrefAt,
    /** Fetch `times` ahead, in order, without waiting for them. */
    ahead: (times) => times.forEach((t) => get(t)),
    /** Forget every frame (another scope: other graphs). */
    forget() {
      known.clear();
      loaded.clear();
      for (const { resolve } of queue.splice(0)) resolve("another view was chosen");
    },
    /** Frames asked for whose answer has not come yet. */
    pending: () => running + queue.length,
    /** Whether frame t has been fetched (its answer came). */
    isLoaded: (t) => loaded.has(t),
  };
}
