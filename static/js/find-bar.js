// The Find and Hide bars: two expressions of Kiali's language (find.js) over what is drawn.
// Found elements get the Cytoscape class `find` (a highlight ring); hidden ones the class
// `find-hidden` (display: none), so they leave the drawing and come back, where they were,
// when the expression changes. Both are worked out again whenever elements come, go or
// change (a live delta, a namespace unfolded), so that they hold across updates.
//
// A big graph is not all in Cytoscape: its folded namespaces stand for their nodes. There
// the graph's worker works both out over the whole graph (`getMarks()`): a folded namespace
// that holds found elements is ringed and says how many; hidden ones leave its counts.

import { isDerived } from "./cy-apply.js";
import { h } from "./dom.js";
import { FIND_PRESETS, FindError, HIDE_PRESETS, parseFind } from "./find.js";
import { foundIds, hiddenIds } from "./find-match.js";

const CLASSES = { find: "find", hide: "find-hidden" };
const NOTHING = { clauses: [] };

/**
 * Build the bars in `root`. `view.find` and `view.hide` hold the expressions (from the
 * URL); `getCy()` gives the current Cytoscape instance; `onChange(view)` runs after the
 * user changes an expression (the page writes its URL). `onExpressions(find, hide)` hears
 * every expression set (texts); `getMarks()` gives what the graph's worker marked for them
 * in a big graph ({find, hide, found, hidden, foundTotal, hiddenTotal}), or null.
 */
export function createFindBar(root, { view, getCy, onChange = () => {}, onExpressions = () => {}, getMarks = () => null }) {
  const texts = { find: "", hide: "" };
  const expressions = { find: NOTHING, hide: NOTHING };
  const fields = { find: field("find", "Find…", FIND_PRESETS), hide: field("hide", "Hide…", HIDE_PRESETS) };
  const count = h("output", { id: "find-count", class: "find-count", "aria-live": "polite" });
  root.replaceChildren(fields.find.group, fields.hide.group, count);
  let scheduled = false;
  let applied = 0;
  let marking = false; // whether any element may carry a class of ours
  let bound = null;

  function field(kind, placeholder, presets) {
    const input = h("input", {
      id: `graph-${kind}`, name: kind, type: "text", class: "find-input", placeholder,
      autocomplete: "off", spellcheck: "false", "aria-label": kind === "find" ? "Find" : "Hide",
      "aria-describedby": `graph-${kind}-error`,
    });
    const error = h("span", { id: `graph-${kind}-error`, class: "find-error", role: "alert", hidden: true });
    const menu = h("select", { id: `graph-${kind}-presets`, class: "find-presets", "aria-label": `${placeholder.slice(0, -1)} presets` },
      h("option", { value: "" }, "Presets"),
      presets.map(([expression, label]) => h("option", { value: expression }, `${label}: ${expression}`)));
    const clear = h("button", { type: "button", class: "find-clear", "aria-label": `Clear ${kind}`, title: `Clear ${kind}` }, "×");
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        submit(kind, input.value);
      } else if (event.key === "Escape") {
        event.preventDefault();
        submit(kind, "");
      }
    });
    input.addEventListener("change", () => submit(kind, input.value));
    // Typing: the old error no longer describes what is there.
    input.addEventListener("input", () => showError(kind, null));
    menu.addEventListener("change", () => {
      if (menu.value) submit(kind, menu.value);
      menu.value = "";
    });
    clear.addEventListener("click", () => submit(kind, ""));
    const group = h("div", { class: `find-field find-field-${kind}`, role: "search" }, input, menu, clear, error);
    return { input, error, clear, group };
  }

  function showError(kind, message) {
    const { input, error } = fields[kind];
    error.hidden = !message;
    error.textContent = message || "";
    if (message) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }

  // Read an expression; a bad one shows its error and selects nothing (as Kiali does).
  function load(kind, text) {
    texts[kind] = text;
    fields[kind].input.value = text;
    fields[kind].clear.hidden = !text;
    try {
      expressions[kind] = parseFind(text, kind);
      showError(kind, null);
    } catch (error) {
      if (!(error instanceof FindError)) throw error;
      expressions[kind] = NOTHING;
      showError(kind, error.message);
    }
  }

  function submit(kind, text) {
    const changed = view[kind] !== text;
    view[kind] = text;
    load(kind, text);
    onExpressions(texts.find, texts.hide);
    follow();
    apply();
    if (changed) onChange(view);
  }

  /** Mark what Find matches and hide what Hide matches, among the elements drawn. */
  function apply() {
    scheduled = false;
    const cy = getCy();
    if (!cy) return;
    const active = expressions.find.clauses.length > 0 || expressions.hide.clauses.length > 0;
    if (active || marking) mark(cy);
    marking = active;
    applied += 1;
    document.body.dataset.findApplied = String(applied);
  }

  // The worker's marks, when they are for the expressions shown now.
  function currentMarks() {
    const marks = getMarks();
    return marks && marks.find === texts.find && marks.hide === texts.hide ? marks : null;
  }

  function mark(cy) {
    // One pass over plain arrays: Cytoscape collections (filter, selectors) cost tens of
    // milliseconds each at tens of thousands of elements.
    const all = cy.elements();
    const marks = currentMarks();
    const eles = [];
    const derived = [];
    const nodes = [];
    const edges = [];
    for (let i = 0; i < all.length; i += 1) {
      const ele = all[i];
      if (isDerived(ele)) {
        derived.push(ele);
        continue;
      }
      eles.push(ele);
      if (!marks) (ele.isNode() ? nodes : edges).push(ele.data());
    }
    const wanted = marks
      ? { find: new Set(marks.found), hide: new Set(marks.hidden) }
      : { find: foundIds(expressions.find, nodes, edges), hide: hiddenIds(expressions.hide, nodes, edges) };
    // A folded namespace (or a sum of edges) is found when something found is inside.
    for (const ele of derived) {
      if (ele.data("foundCount") > 0 && expressions.find.clauses.length) wanted.find.add(ele.id());
      eles.push(ele);
    }
    // Whole collections at once: one class change per element costs Cytoscape a style
    // pass each.
    cy.batch(() => {
      for (const kind of ["find", "hide"]) {
        const name = CLASSES[kind];
        const want = wanted[kind];
        const add = [];
        const drop = [];
        for (const ele of eles) {
          const on = want.has(ele.id());
          if (on !== ele.hasClass(name)) (on ? add : drop).push(ele);
        }
        if (drop.length) cy.collection(drop).removeClass(name);
        if (add.length) cy.collection(add).addClass(name);
      }
    });
    let shown = 0;
    for (const id of wanted.find) if (!wanted.hide.has(id)) shown += 1;
    for (const ele of derived) if (wanted.find.has(ele.id())) shown -= 1;
    // In a big graph, the whole graph's counts, folded namespaces included.
    const found = marks ? marks.foundTotal : shown;
    const hidden = marks ? marks.hiddenTotal : wanted.hide.size;
    const said = [];
    if (expressions.find.clauses.length) said.push(`${found.toLocaleString("en")} found`);
    if (expressions.hide.clauses.length) said.push(`${hidden.toLocaleString("en")} hidden`);
    count.textContent = said.join(" · ");
  }

  // Elements came, went or changed: work both out again, once, after the change is done.
  function schedule() {
    if (scheduled) return;
    scheduled = true;
    setTimeout(apply, 0);
  }

  // Listen only while an expression is set: a listener makes Cytoscape dispatch an event
  // per element added or changed, which a big graph's updates would pay for nothing.
  function follow() {
    const cy = getCy();
    const active = expressions.find.clauses.length > 0 || expressions.hide.clauses.length > 0;
    const target = active ? cy : null;
    if (bound === target) return;
    if (bound) bound.off("add remove data", schedule);
    bound = target;
    if (bound) bound.on("add remove data", schedule);
  }

  // "/" goes to the Find bar from anywhere but another field.
  document.addEventListener("keydown", (event) => {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target instanceof HTMLElement && (target.isContentEditable || ["INPUT", "SELECT", "TEXTAREA"].includes(target.tagName))) return;
    event.preventDefault();
    fields.find.input.focus();
    fields.find.input.select();
  });

  load("find", view.find || "");
  load("hide", view.hide || "");
  onExpressions(texts.find, texts.hide);
  follow();

  return {
    apply,
    /** A new Cytoscape instance (another renderer): follow its changes. */
    rebind() {
      follow();
      apply();
    },
    /** Show these expressions (the view changed under the page: back, forward). */
    set({ find = "", hide = "" }) {
      view.find = find;
      view.hide = hide;
      load("find", find);
      load("hide", hide);
      onExpressions(texts.find, texts.hide);
      follow();
      apply();
    },
  };
}
