// Traffic animation: dots moving along the edges on a canvas above Cytoscape, red for
// errors, more dots for more traffic. Drawn with requestAnimationFrame, only for edges in
// the viewport, at most MAX_EDGES of them (the busiest) and MAX_DOTS dots, so that a graph
// of 10,000 nodes does not freeze the page. The edges to draw are chosen again only when
// the graph or the viewport changes, not every frame.

import { edgeRates } from "./labels.js";

const MAX_EDGES = 600;
const MAX_DOTS = 2400;
// Model units per second a dot travels (it scales with the zoom, as the edges do).
const SPEED = 90;

// 1 to 5 dots per edge, by the order of magnitude of its rate.
function dotsFor(rate) {
  if (rate <= 0) return 0;
  return Math.max(1, Math.min(5, Math.round(Math.log10(rate * 10) + 1)));
}

export function createTraffic(wrap, getCy) {
  const canvas = document.createElement("canvas");
  canvas.className = "traffic-canvas";
  canvas.setAttribute("aria-hidden", "true");
  wrap.appendChild(canvas);
  const context = canvas.getContext("2d");
  let on = false;
  let frame = null;
  let paths = null; // [{edge, dots, errorShare}], null: choose again
  let drawn = 0;
  let attached = null;

  const stale = () => {
    paths = null;
  };

  function follow(cy) {
    if (attached === cy) return;
    attached = cy;
    cy.on("add remove data viewport position", stale);
  }

  function choose(cy) {
    const extent = cy.extent();
    const inView = cy.edges(":visible").filter((edge) => {
      const box = edge.boundingBox();
      return box.x2 >= extent.x1 && box.x1 <= extent.x2 && box.y2 >= extent.y1 && box.y1 <= extent.y2;
    });
    const rated = inView.map((edge) => ({ edge, ...edgeRates(edge.data()) })).filter((e) => e.rate > 0);
    rated.sort((a, b) => b.rate - a.rate);
    let budget = MAX_DOTS;
    return rated.slice(0, MAX_EDGES).map(({ edge, rate, errorPercent }) => {
      const dots = Math.min(dotsFor(rate), budget);
      budget -= dots;
      return { edge, dots, errorShare: errorPercent / 100 };
    });
  }

  function draw(now) {
    frame = null;
    if (!on) return;
    const cy = getCy();
    follow(cy);
    const ratio = window.devicePixelRatio || 1;
    const { clientWidth: w, clientHeight: h } = wrap;
    if (canvas.width !== w * ratio || canvas.height !== h * ratio) {
      canvas.width = w * ratio;
      canvas.height = h * ratio;
    }
    if (paths === null) paths = choose(cy);
    const zoom = cy.zoom();
    const pan = cy.pan();
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, w, h);
    const radius = Math.max(1.5, Math.min(4, 3 * zoom));
    drawn = 0;
    for (const { edge, dots, errorShare } of paths) {
      if (edge.removed()) continue;
      const a = edge.sourceEndpoint();
      const b = edge.targetEndpoint();
      const length = Math.hypot(b.x - a.x, b.y - a.y) || 1;
      const travel = ((now / 1000) * SPEED) / length;
      for (let i = 0; i < dots; i += 1) {
        const phase = (travel + i / dots) % 1;
        const x = (a.x + (b.x - a.x) * phase) * zoom + pan.x;
        const y = (a.y + (b.y - a.y) * phase) * zoom + pan.y;
        // The first dots of each edge by its error share are red.
        context.fillStyle = i < Math.round(dots * errorShare) || (errorShare > 0 && i === 0) ? "#c9190b" : "#2b6cb0";
        context.beginPath();
        context.arc(x, y, radius, 0, 2 * Math.PI);
        context.fill();
        drawn += 1;
      }
    }
    frame = window.requestAnimationFrame(draw);
  }

  function setEnabled(enabled) {
    on = enabled;
    canvas.hidden = !on;
    document.body.dataset.animation = on ? "on" : "off";
    paths = null;
    if (on && frame === null) frame = window.requestAnimationFrame(draw);
    if (!on) {
      if (frame !== null) window.cancelAnimationFrame(frame);
      frame = null;
      drawn = 0;
      context.clearRect(0, 0, canvas.width, canvas.height);
    }
  }

  return {
    setEnabled,
    /** Dots drawn in the last frame (tests, the console). */
    dots: () => drawn,
  };
}
