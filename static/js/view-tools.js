// The graph's own tools beside Fit and Re-layout: the layout choice and the traffic
// animation toggle. Both are page options in the view (layout=, animate=).

import { h } from "./dom.js";
import { LAYOUT_NAMES } from "./layouts.js";
import { LAYOUTS } from "./view.js";

/** `onChange()` runs after the view changed here; `apply()` shows the view's choices. */
export function createViewTools(root, { view, onChange, useLayout, animate }) {
  const layout = root.querySelector("#layout");
  const animation = root.querySelector("#animate");
  layout.replaceChildren(...LAYOUTS.map((name) => h("option", { value: name }, LAYOUT_NAMES[name])));

  function apply() {
    layout.value = view.layout;
    animation.checked = view.animate;
    useLayout(view.layout);
    animate(view.animate);
  }

  layout.addEventListener("change", () => {
    view.layout = layout.value;
    useLayout(view.layout);
    onChange();
  });
  animation.addEventListener("change", () => {
    view.animate = animation.checked;
    animate(view.animate);
    onChange();
  });
  return { apply };
}
