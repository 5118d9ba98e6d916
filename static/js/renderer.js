// Which Cytoscape renderer draws a big graph: WebGL when the browser has a GPU behind it,
// else the canvas renderer.
//
// WebGL is chosen only when it is hardware-accelerated: emulated on the CPU (SwiftShader,
// llvmpipe, as in headless Chromium without a GPU) it was measured at 1.7-2 s per frame
// while panning 1,500 nodes, where the canvas renderer keeps 60 frames/s with its caches.

// Software implementations of WebGL, by the names they give as renderer.
const SOFTWARE = /swiftshader|llvmpipe|softpipe|software|microsoft basic render/i;

/** What WebGL2 this browser offers: { available, software, name }. */
export function probeWebgl() {
  let gl = null;
  try {
    gl = document.createElement("canvas").getContext("webgl2");
  } catch {
    gl = null;
  }
  if (!gl) return { available: false, software: false, name: "" };
  const info = gl.getExtension("WEBGL_debug_renderer_info");
  const name = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER) || "");
  gl.getExtension("WEBGL_lose_context")?.loseContext();
  return { available: true, software: SOFTWARE.test(name), name };
}

/**
 * The renderer for a graph: { webgl, reason }. `big`: the graph is over the threshold;
 * `wanted`: the page's `renderer` option ("auto", "webgl" or "canvas").
 */
export function chooseRenderer(big, wanted, probe) {
  if (wanted === "canvas") return { webgl: false, reason: "canvas asked for (renderer=canvas)" };
  if (!probe.available) return { webgl: false, reason: "WebGL2 is not available in this browser" };
  if (wanted === "webgl") return { webgl: true, reason: "WebGL asked for (renderer=webgl)" };
  if (!big) return { webgl: false, reason: "small graph: canvas draws it best" };
  if (probe.software) {
    return { webgl: false, reason: `WebGL is emulated in software (${probe.name}): canvas is faster` };
  }
  return { webgl: true, reason: `big graph on ${probe.name || "a GPU"}` };
}
