// The npm packages of tests/js/node_modules, for scripts that live outside tests/js.
//
// Bare specifiers resolve from the importing file's directory, and tests/conformance has no
// node_modules of its own; resolving them from tests/js/package.json keeps one install.

import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const requireFromJs = createRequire(new URL("../js/package.json", import.meta.url));

/** `import(specifier)` as if imported from tests/js. */
export function load(specifier) {
  return import(pathToFileURL(requireFromJs.resolve(specifier)).href);
}
