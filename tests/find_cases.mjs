// Runs static/js/find.js over tests/find_cases.json and prints what it makes of each case,
// in the case file's terms (tests/test_find.py compares them with the Python parser's).
import { readFileSync } from "node:fs";
import { FindError, parseFind } from "../static/js/find.js";
import { foundIds, hiddenIds } from "../static/js/find-match.js";

const { elements, cases } = JSON.parse(readFileSync(process.argv[2], "utf8"));
const nodes = elements.nodes.map((e) => e.data);
const edges = elements.edges.map((e) => e.data);

const answers = cases.map((c) => {
  let expression;
  try {
    expression = parseFind(c.expr, c.param || "find");
  } catch (error) {
    if (!(error instanceof FindError)) throw error;
    return { error: error.message };
  }
  if ("hide" in c) return { hide: [...hiddenIds(expression, nodes, edges)].sort() };
  return { find: [...foundIds(expression, nodes, edges)].sort() };
});
process.stdout.write(JSON.stringify(answers));
