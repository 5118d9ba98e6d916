// The count of failing edges where a background tab still shows it: the page title
// ("(3) Meshlens · bookinfo") and the favicon (the number on a red disc, drawn on a canvas).
// Both go back to plain when nothing fails.

const PLAIN_ICON = "data:,";
const SIZE = 32;
let shownCount = null;

function icon() {
  let link = document.querySelector('link[rel="icon"]');
  if (!link) {
    link = document.createElement("link");
    link.rel = "icon";
    document.head.append(link);
  }
  return link;
}

/** A red disc with `count` in white (99+ above 99), as a PNG data URL. */
export function drawCount(count) {
  const canvas = document.createElement("canvas");
  canvas.width = SIZE;
  canvas.height = SIZE;
  const context = canvas.getContext("2d");
  context.fillStyle = "#c9190b";
  context.beginPath();
  context.arc(SIZE / 2, SIZE / 2, SIZE / 2, 0, 2 * Math.PI);
  context.fill();
  const text = count > 99 ? "99+" : String(count);
  context.fillStyle = "#ffffff";
  context.font = `bold ${text.length > 2 ? 13 : text.length > 1 ? 18 : 22}px sans-serif`;
  context.textAlign = "center";
  context.textBaseline = "middle";
  context.fillText(text, SIZE / 2, SIZE / 2 + 1);
  return canvas.toDataURL("image/png");
}

/** Show `count` failing edges in the title and favicon of a page about `namespaces`. */
export function showFailingCount(count, namespaces) {
  document.title = `${count ? `(${count}) ` : ""}Meshlens · ${namespaces.join(", ")}`;
  if (count === shownCount) return;
  shownCount = count;
  icon().href = count ? drawCount(count) : PLAIN_ICON;
  document.body.dataset.failingEdges = String(count);
}
