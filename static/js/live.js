// The WebSocket client: connect, dispatch messages by type in arrival order (each handled
// to its end before the next), check delta versions, reconnect with capped backoff.

const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 5000;
const REFUSED = 4400;
const UNAUTHORISED = 4401;
const FORBIDDEN = 4403; // a namespace the viewer may not (or no longer) see

export function socketUrl(path, query) {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}${path}?${query}`;
}

/**
 * The wait before reconnect attempt `attempt` (0, 1, ...): 0.5 s, 1 s, 2 s, 4 s, then 5 s
 * at most, each scaled by a random factor in [0.5, 1] so that the browsers of a whole
 * incident room do not all come back in the same millisecond after a server restart.
 */
export function backoffDelay(attempt, random = Math.random) {
  const ceiling = Math.min(BASE_DELAY_MS * 2 ** attempt, MAX_DELAY_MS);
  return Math.round(ceiling * (0.5 + random() / 2));
}

/**
 * Keep a socket open to `url`. `handlers` maps message types ("graph.snapshot", …) to
 * functions of the message (async or not; a message sent by reference, `href`, is theirs to
 * fetch); a handler that returns false could not apply its message, and the socket is
 * opened again for a fresh snapshot. Messages are handled one at a time in the order they
 * came, so a delta never overtakes the snapshot it applies to. `onState(state, delayMs)` hears
 * "connecting", "live", "reconnecting" and "refused" (the server rejected the query; no
 * retry). Returns { close, restart }.
 */
export function openLive(url, handlers, onState) {
  let socket = null;
  let timer = null;
  let attempt = 0;
  let closed = false;
  // Each connection handles its messages in a chain of its own: a new connection starts
  // a new chain, and an old chain's late work is dropped (its `ws` is no longer `socket`).
  let chain = Promise.resolve();
  let version = null;

  function connect() {
    timer = null;
    onState(attempt === 0 ? "connecting" : "reconnecting", 0);
    const ws = new WebSocket(url);
    socket = ws;
    chain = Promise.resolve();
    version = null;
    ws.addEventListener("open", () => {
      if (socket === ws) onState("live", 0);
    });
    ws.addEventListener("message", (event) => {
      if (socket !== ws) return;
      // Only a socket that delivered something resets the backoff: a server that
      // accepts and drops at once must not be hammered every half second.
      attempt = 0;
      const text = event.data;
      chain = chain
        .then(() => (socket === ws ? handle(ws, text) : null))
        .catch((error) => console.error(`meshlens: a ${ws.url} message failed: ${error}`));
    });
    ws.addEventListener("close", (event) => {
      if (socket !== ws || closed) return;
      // 4400: the server refused the view itself (a bad parameter); asking again is futile.
      if ([REFUSED, UNAUTHORISED, FORBIDDEN].includes(event.code)) onState("refused", 0);
      else scheduleReconnect();
    });
  }

  async function handle(ws, text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      console.warn("meshlens: ignoring a message that is not JSON");
      return;
    }
    if (message.type === "graph.delta" && message.base !== undefined && message.base !== version) {
      // A delta from another version than the one on screen: a new connection brings
      // the current snapshot.
      console.warn(`meshlens: delta from version ${message.base}, showing ${version}; reloading`);
      restartSoon(ws);
      return;
    }
    const handler = handlers[message.type];
    if (!handler) {
      console.warn(`meshlens: ignoring a message of type ${message.type}`);
      return;
    }
    // A graph that could not be shown (its reference is gone, a delta that does not fit):
    // start afresh, from the snapshot a new connection brings.
    const shown = await handler(message);
    if (socket !== ws) return;
    if (shown === false) restartSoon(ws);
    else if (message.version !== undefined) version = message.version;
  }

  function restartSoon(ws) {
    if (socket !== ws) return;
    drop();
    scheduleReconnect();
  }

  function scheduleReconnect() {
    const delay = backoffDelay(attempt);
    attempt += 1;
    onState("reconnecting", delay);
    timer = window.setTimeout(connect, delay);
  }

  function drop() {
    if (timer) window.clearTimeout(timer);
    timer = null;
    const ws = socket;
    socket = null;
    if (!ws) return;
    // Closing a socket that is still connecting makes Chromium log an error;
    // let it open, then close it. Its messages are ignored meanwhile.
    if (ws.readyState === WebSocket.CONNECTING) ws.addEventListener("open", () => ws.close());
    else if (ws.readyState === WebSocket.OPEN) ws.close();
  }

  connect();
  return {
    close() {
      closed = true;
      drop();
    },
    /** Reconnect now: the server answers a new connection with a fresh snapshot. */
    restart() {
      drop();
      attempt = 0;
      connect();
    },
  };
}
