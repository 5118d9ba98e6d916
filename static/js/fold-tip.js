// What a folded edge stands for (collapse.js, fold-edges.js): hovering or selecting an edge
// that sums many lists its members' totals and its worst few edges, so that a pair that is
// orange or red says which real edges make it so, without unfolding anything. Also: a
// selected node shows its own edges to folded boxes where they are tucked behind ports.

import { h } from "./dom.js";

function plural(count, noun) {
  return `${count.toLocaleString("en")} ${noun}${count === 1 ? "" : "s"}`;
}

function title(edge) {
  const end = (node) => (node.hasClass("summary") ? node.data("namespace") : node.data("label") || node.id());
  return `${end(edge.source())} → ${end(edge.target())}`;
}

function totals(data) {
  const parts = [plural(data.edgeCount, "edge")];
  if (data.failing) parts.push(`${data.failing.toLocaleString("en")} failing`);
  if (data.rateText) parts.push(data.rateText);
  return parts.join(" · ");
}

/**
 * The tip, in `wrap` (the graph's positioned container); `attach(cy)` on every new cy.
 * `dataOf(edge)`: its data with what it tells (summed-details.js); `onDetails(listener)`:
 * hears which elements tell something new.
 */
export function createFoldTip(wrap, { dataOf = (ele) => ele.data(), onDetails = () => {} } = {}) {
  const tip = h("div", { id: "fold-tip", class: "fold-tip", role: "tooltip", hidden: true });
  wrap.append(tip);
  let pinned = null; // the selected folded edge, shown until unselected

  function show(edge) {
    const data = dataOf(edge);
    tip.replaceChildren(
      h("div", { class: "fold-tip-title" }, title(edge), h("span", { class: `dot health-${data.health || "NA"}`, "aria-hidden": "true" })),
      h("div", { class: "fold-tip-totals" }, totals(data)),
      h("div", { class: "fold-tip-heading" }, (data.members || []).length ? "Worst edges" : ""),
      h("ul", { class: "fold-tip-members" }, (data.members || []).map((line) => h("li", {}, line))),
    );
    const { x, y } = edge.renderedMidpoint();
    tip.style.left = `${Math.max(0, Math.min(x + 12, wrap.clientWidth - 360))}px`;
    tip.style.top = `${Math.max(0, Math.min(y + 12, wrap.clientHeight - 160))}px`;
    tip.hidden = false;
  }

  function hide() {
    tip.hidden = true;
  }

  // A live update changes what the edge sums: say it again.
  onDetails((ids) => {
    if (pinned && ids.includes(pinned.id())) show(pinned);
  });

  return {
    attach(cy) {
      pinned = null;
      hide();
      cy.on("mouseover", "edge.aggregate", (event) => {
        if (!pinned) show(event.target);
      });
      cy.on("mouseout", "edge.aggregate", () => {
        if (!pinned) hide();
      });
      cy.on("select", "edge.aggregate", (event) => {
        pinned = event.target;
        show(pinned);
      });
      cy.on("unselect remove", "edge.aggregate", (event) => {
        if (pinned && event.target.id() !== pinned.id()) return;
        pinned = null;
        hide();
      });
      // Or what it draws (its health, its label).
      cy.on("data", "edge.aggregate", (event) => {
        if (pinned && event.target.id() === pinned.id()) show(pinned);
      });
      // A node of a namespace whose edges go through ports: its own edges while selected.
      cy.on("select", "node", (event) => event.target.connectedEdges(".tucked").addClass("untucked"));
      cy.on("unselect", "node", (event) => event.target.connectedEdges(".tucked").removeClass("untucked"));
      cy.on("pan zoom", () => {
        if (pinned) show(pinned);
      });
    },
  };
}
