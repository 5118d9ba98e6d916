// Keyboard shortcuts: one listener for the page, keys registered by the modules that own
// them (`f` fits the graph; the find bar registers its own). A key typed into a field, or
// with Ctrl, Alt or Meta held, is the field's or the browser's, never a shortcut.

const bindings = new Map(); // key -> { handler, description }

function isTyping(target) {
  if (!(target instanceof Element)) return false;
  return Boolean(target.closest("input, textarea, select, [contenteditable='true']"));
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.altKey || event.metaKey || event.defaultPrevented) return;
  const binding = bindings.get(event.key);
  // Escape belongs to fields too (it clears them): its handler decides.
  if (!binding || (event.key !== "Escape" && isTyping(event.target))) return;
  if (binding.handler(event) !== false) event.preventDefault();
});

/**
 * Run `handler(event)` on `key` (KeyboardEvent.key: "f", "/", "Escape", " "); a handler
 * that returns false leaves the key to the browser. A key has one owner: registering it
 * again is a mistake, reported and refused.
 */
export function registerKey(key, handler, description) {
  if (bindings.has(key)) {
    console.warn(`meshlens: key ${key} is already ${bindings.get(key).description}`);
    return;
  }
  bindings.set(key, { handler, description });
}

/** [key, description] of every shortcut, for a help list. */
export function shortcuts() {
  return [...bindings].map(([key, { description }]) => [key, description]);
}
