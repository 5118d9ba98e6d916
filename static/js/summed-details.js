// What the page's own elements tell but do not draw (collapse.js `told`): a summed edge's
// members, counts, rate and error share, for its tip (fold-tip.js) and the side panel's
// peers (peer-tables.js). They are kept here, off Cytoscape: each change of an element's
// data restyles and redraws it, and these move on nearly every live update.

/** The details of the drawn elements, by id; `onChange(ids)` hears of new ones. */
export function createSummedDetails() {
  const told = new Map();
  const listeners = [];

  return {
    /** A drawing's part (model-worker.js): elements added, updated, removed or told anew. */
    apply(part) {
      if (part.clear) told.clear();
      for (const id of part.remove || []) told.delete(id);
      const changed = [];
      for (const element of [...(part.add || []), ...(part.update || [])]) {
        if (!element.told) continue;
        told.set(element.data.id, element.told);
        changed.push(element.data.id);
      }
      for (const { id, told: details } of part.tell || []) {
        told.set(id, details);
        changed.push(id);
      }
      if (changed.length) for (const listener of listeners) listener(changed);
    },
    clear: () => told.clear(),
    /** The element's data with what it tells (plain data for the server's elements). */
    dataOf(ele) {
      const details = told.get(ele.id());
      return details ? { ...ele.data(), ...details } : ele.data();
    },
    onChange: (listener) => listeners.push(listener),
  };
}
