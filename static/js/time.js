// Time: live, a past moment, or a replay of a past window; and, when live, how often the
// page applies updates (refresh.js). The mode follows the view (view.js: query_time,
// replay, replay_end, refresh), so that a reload, a shared link or back/forward gives it.
//
// Live: the WebSocket. A past moment: no socket, one graph from the API at `query_time`,
// and a banner that says the page is not live. Replay: the same, at the playhead of a
// slider over a past window (replay.js).

import { h } from "./dom.js";
import { createFrames } from "./frames.js";
import { parseDuration } from "./labels.js";
import { createReplay } from "./replay.js";
import { REFRESHES, scopeQuery } from "./view.js";

const REFRESH_NAMES = { pause: "Paused", "10s": "Every 10s", "15s": "Every 15s", "30s": "Every 30s", "1m": "Every 1m", "5m": "Every 5m" };

/** "14:05:00, 29 Nov" (the browser's time zone). */
export function formatMoment(unixSeconds) {
  const date = new Date(unixSeconds * 1000);
  const clock = date.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  const day = date.toLocaleDateString("en-GB", { day: "numeric", month: "short" });
  const year = date.getFullYear() === new Date().getFullYear() ? "" : ` ${date.getFullYear()}`;
  return `${clock}, ${day}${year}`;
}

// A datetime-local input's value for a Unix time, and back (the browser's time zone).
function toInput(unixSeconds) {
  const d = new Date(unixSeconds * 1000);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function fromInput(value) {
  const ms = new Date(value).getTime();
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : null;
}

/**
 * `live`: { connect(), close() } of the WebSocket; `showFrame(href, t)`: draw the graph at
 * that address, resolving to whether it was shown; `onViewChange({ push })`: the view
 * changed here (the page writes the URL); `serverSeconds`: the server's refresh period.
 */
export function createTime(root, { view, config, live, pacer, showFrame, onViewChange, onError }) {
  const el = (id) => root.querySelector(`#${id}`);
  const refresh = el("refresh");
  const picker = el("query-time");
  const banner = el("time-banner");
  const pausedMark = el("paused-mark");
  const frames = createFrames((t) => `${config.apiPath}?${scopeQuery(view)}&query_time=${t}`);
  let mode = null;
  let shown = null; // the Unix time of the past graph on screen
  let wanted = null; // the frame asked for last: an older one arriving late is not drawn

  refresh.replaceChildren(
    ...REFRESHES.map((value) =>
      h("option", { value, disabled: parseDuration(value) < config.refreshSeconds }, REFRESH_NAMES[value]),
    ),
  );

  /** Draw the graph at t (fetched ahead when it could be); false if it could not be. */
  async function show(t) {
    wanted = t;
    const error = await frames.get(t, { first: true });
    if (wanted !== t) return false;
    if (error) {
      onError(error);
      return false;
    }
    const ok = await showFrame(frames.href(t), t);
    if (ok) shown = t;
    return ok;
  }

  // The playhead moved: the URL and the banner follow.
  const replay = createReplay(root, {
    view,
    frames,
    show,
    onViewChange: (how) => {
      onViewChange(how);
      describe();
    },
  });

  function describe() {
    const past = view.query_time !== null;
    document.body.dataset.mode = mode;
    banner.hidden = !past;
    if (past) el("time-banner-text").textContent = `Showing ${formatMoment(view.query_time)}${mode === "replay" ? " (replay)" : ""}, not live`;
    picker.value = past ? toInput(view.query_time) : "";
    // Only moments Prometheus still holds (the API refuses older ones anyway).
    const now = Math.floor(Date.now() / 1000);
    picker.max = toInput(now);
    if (config.retentionSeconds) picker.min = toInput(now - config.retentionSeconds);
    refresh.value = view.refresh;
    refresh.disabled = past;
    pausedMark.hidden = past || view.refresh !== "pause";
    document.body.dataset.refresh = view.refresh;
  }

  /** Follow the view: live, past or replay, at the refresh it says. */
  async function apply({ reconnect = false } = {}) {
    const next = view.replay ? "replay" : view.query_time !== null ? "past" : "live";
    const was = mode;
    mode = next;
    describe();
    if (next === "live") {
      replay.close();
      shown = null;
      wanted = null;
      pacer.set(view.refresh);
      if (view.refresh === "pause") live.close();
      else if (reconnect || was !== "live" || !live.isOpen()) live.connect();
      return;
    }
    live.close();
    if (next === "replay") await replay.open();
    else {
      replay.close();
      if (shown !== view.query_time) await show(view.query_time);
    }
  }

  function change(update, { push = true } = {}) {
    Object.assign(view, update);
    onViewChange({ push });
    return apply();
  }

  refresh.addEventListener("change", () => change({ refresh: refresh.value }));
  pausedMark.addEventListener("click", () => change({ refresh: "10s" }));
  picker.addEventListener("change", () => {
    const t = fromInput(picker.value);
    if (t !== null) change({ query_time: Math.min(t, Math.floor(Date.now() / 1000)), replay: null, replay_end: null });
  });
  const toLive = () => change({ query_time: null, replay: null, replay_end: null });
  el("live-button").addEventListener("click", toLive);
  el("time-live").addEventListener("click", toLive);
  el("replay-button").addEventListener("click", () => (view.replay ? toLive() : change({ replay: "30m", replay_end: null, query_time: null })));

  return {
    apply,
    /** The scope changed: past graphs are other graphs now. */
    scopeChanged() {
      frames.forget();
      shown = null;
      return apply({ reconnect: true });
    },
    mode: () => mode,
    replay,
    frames,
  };
}
