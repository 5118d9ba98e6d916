// Replay: a slider over a past window (30m, 1h, 6h) ending at `replay_end`, with play,
// pause and speeds. Each frame is a real graph of its moment from the API; playing fetches
// a few frames ahead of the playhead (frames.js), so that each is ready when its turn
// comes. Frames are drawn in place: nodes keep their positions from one frame to the next.

import { h } from "./dom.js";
import { parseDuration } from "./labels.js";
import { REPLAY_WINDOWS, SPEEDS } from "./view.js";

// Frames per window: a 30m window steps by 30 s, 1h by 60 s, 6h by 6 min.
const FRAMES = 60;
// Frames fetched ahead of the playhead while playing.
const AHEAD = 4;
// A graph this recent may still change (late scrapes): replay ends before it.
const SETTLED_SECONDS = 120;
// At 1x, one frame a second.
const FRAME_MS = 1000;

export function createReplay(root, { view, frames, show, onViewChange }) {
  const el = (id) => root.querySelector(`#${id}`);
  const bar = el("replay-bar");
  const slider = el("replay-slider");
  const clock = el("replay-clock");
  const play = el("replay-play");
  const windowSelect = el("replay-window");
  const speed = el("replay-speed");
  let playing = false;

  windowSelect.replaceChildren(...REPLAY_WINDOWS.map((w) => h("option", { value: w }, `Last ${w}`)));
  speed.replaceChildren(...SPEEDS.map((s) => h("option", { value: s }, `${s}x`)));

  const step = () => parseDuration(view.replay) / FRAMES;
  const end = () => view.replay_end;
  const start = () => end() - parseDuration(view.replay);
  // The frame at or before t, inside the window.
  const frameAt = (t) => Math.min(end(), Math.max(start(), start() + Math.floor((t - start()) / step()) * step()));

  function describe(t) {
    slider.value = String(t);
    const date = new Date(t * 1000);
    clock.value = date.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit" });
    clock.dataset.time = String(t);
    play.textContent = playing ? "Pause" : "Play";
    play.setAttribute("aria-pressed", String(playing));
    document.body.dataset.replay = playing ? "playing" : "paused";
  }

  /** Go to frame t: the URL follows (replaced: a playhead is not a history entry). */
  function seek(t, { push = false } = {}) {
    view.query_time = frameAt(t);
    onViewChange({ push });
    describe(view.query_time);
    const ahead = [];
    for (let i = 1; i <= (playing ? AHEAD : 1); i += 1) {
      if (view.query_time + i * step() <= end()) ahead.push(view.query_time + i * step());
    }
    // A frame not fetched yet is built by the server first: say so while it comes.
    const at = view.query_time;
    clock.dataset.loading = String(!frames.isLoaded(at));
    // The frames ahead are asked for once this one is in: built beside it, they would
    // slow it down (the server's cores are few), and it is the one the viewer waits for.
    return show(at).then((ok) => {
      if (view.query_time === at) clock.dataset.loading = "false";
      frames.ahead(ahead);
      return ok;
    });
  }

  async function run() {
    while (playing) {
      const began = performance.now();
      const next = view.query_time + step();
      if (next > end()) break;
      await seek(next);
      const wait = FRAME_MS / Number(view.speed) - (performance.now() - began);
      if (wait > 0) await new Promise((resolve) => window.setTimeout(resolve, wait));
    }
    playing = false;
    describe(view.query_time);
  }

  function setPlaying(on) {
    if (on === playing) return;
    playing = on;
    describe(view.query_time);
    if (playing) {
      if (view.query_time >= end()) seek(start());
      run();
    }
  }

  play.addEventListener("click", () => setPlaying(!playing));
  // While dragging, only the label follows; the frame is chosen where the thumb stops.
  slider.addEventListener("input", () => describe(Number(slider.value)));
  slider.addEventListener("change", () => seek(Number(slider.value), { push: true }));
  speed.addEventListener("change", () => {
    view.speed = speed.value;
    onViewChange({ push: false });
  });
  windowSelect.addEventListener("change", () => {
    playing = false;
    view.replay = windowSelect.value;
    view.replay_end = null;
    view.query_time = null;
    open();
  });

  /** Show the bar and the frame the view names (the window's first by default). */
  function open() {
    bar.hidden = false;
    if (!view.replay_end) view.replay_end = Math.floor((Date.now() / 1000 - SETTLED_SECONDS) / step()) * step();
    slider.min = String(start());
    slider.max = String(end());
    slider.step = String(step());
    windowSelect.value = view.replay;
    speed.value = view.speed;
    document.getElementById("replay-button").setAttribute("aria-pressed", "true");
    const t = view.query_time === null ? start() : view.query_time;
    return seek(t, { push: false });
  }

  function close() {
    playing = false;
    bar.hidden = true;
    document.getElementById("replay-button").setAttribute("aria-pressed", "false");
    delete document.body.dataset.replay;
  }

  return { open, close, seek, play: () => setPlaying(true), pause: () => setPlaying(false), isPlaying: () => playing };
}
