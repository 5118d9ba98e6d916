// The WebSocket client: connect, dispatch messages by type, reconnect with backoff.

const MAX_DELAY_MS = 10000;
const REFUSED = 4400;

export function socketUrl(path, query) {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}${path}?${query}`;
}

/** 1 s, 2 s, 4 s, 8 s, then 10 s for every further attempt. */
export function backoffDelay(attempt) {
  return Math.min(1000 * 2 ** attempt, MAX_DELAY_MS);
}

/**
 * Keep a socket open to `url`. `handlers` maps message types ("graph.snapshot", …)
 * to functions of the message; `onState(state, delayMs)` hears "connecting", "live",
 * "reconnecting" and "refused" (the server rejected the query; no retry). Returns
 * { close, restart }.
 */
export function openLive(url, handlers, onState) {
  let socket = null;
  let timer = null;
  let attempt = 0;
  let closed = false;

  function connect() {
    timer = null;
    onState(attempt === 0 ? "connecting" : "reconnecting", 0);
    const ws = new WebSocket(url);
    socket = ws;
    ws.addEventListener("open", () => {
      if (socket === ws) onState("live", 0);
    });
    ws.addEventListener("message", (event) => {
      if (socket !== ws) return;
      // Only a socket that delivered something resets the backoff: a server that
      // accepts and drops at once must not be hammered every second.
      attempt = 0;
      dispatch(event.data);
    });
    ws.addEventListener("close", (event) => {
      if (socket !== ws || closed) return;
      // 4400: the server refused the view itself (a bad parameter); asking again is futile.
      if (event.code === REFUSED) onState("refused", 0);
      else scheduleReconnect();
    });
  }

  function dispatch(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      console.warn("meshlens: ignoring a message that is not JSON");
      return;
    }
    const handler = handlers[message.type];
    if (handler) handler(message);
    else console.warn(`meshlens: ignoring a message of type ${message.type}`);
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
