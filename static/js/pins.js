// Positions the user dragged nodes to: they stay across updates (Cytoscape keeps a node's
// position when its data changes) and across layouts (put back when a layout stops),
// until the user asks for a fresh layout (`clear`).

export function createPins() {
  const pinned = new Map(); // node id -> {x, y}
  let cy = null;

  function restore() {
    if (!cy || !pinned.size) return;
    cy.batch(() => {
      for (const [id, position] of pinned) {
        const node = cy.getElementById(id);
        if (node.nonempty()) node.position({ ...position });
      }
    });
  }

  /** Follow `instance` (the page's Cytoscape; again when the renderer makes a new one). */
  function attach(instance) {
    cy = instance;
    cy.on("dragfree", "node", (event) => {
      const node = event.target;
      if (!node.isParent()) pinned.set(node.id(), { ...node.position() });
    });
    cy.on("layoutstop", restore);
  }

  return {
    attach,
    restore,
    clear: () => pinned.clear(),
    /** node id -> position, for tests and the console. */
    pinned: () => Object.fromEntries(pinned),
  };
}
