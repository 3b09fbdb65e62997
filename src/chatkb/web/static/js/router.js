// Hash routing: #/chat/ID, #/kb, #/kb/NAME, #/kb/NAME/doc/DOC_ID, #/kb/NAME/search, #/status.

const routes = [];

export function route(pattern, render) {
  const names = [];
  const source = pattern.replace(/:(\w+)/g, (_, name) => {
    names.push(name);
    return "([^/]+)";
  });
  routes.push({ regex: new RegExp(`^${source}$`), names, render });
}

/** Go to a path built by pathOf(); replace=true swaps the history entry. */
export function navigate(path, { replace = false } = {}) {
  const hash = link(path);
  if (location.hash === hash) return;
  if (replace) {
    history.replaceState(null, "", hash);
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  } else {
    location.hash = hash;
  }
}

export function currentPath() {
  return location.hash.replace(/^#/, "") || "/chat";
}

/** Find the route for the current hash and call its render(params, path). */
export function resolve(fallback) {
  const path = currentPath();
  for (const { regex, names, render } of routes) {
    const match = path.match(regex);
    if (match) {
      const params = {};
      names.forEach((name, i) => {
        params[name] = decodeURIComponent(match[i + 1]);
      });
      return render(params, path);
    }
  }
  return fallback(path);
}

export function link(path) {
  return `#${path}`;
}

/** pathOf("kb", name, "doc", source) → "/kb/NAME/doc/SOURCE", each segment encoded whole. */
export function pathOf(...segments) {
  return `/${segments.map((part) => encodeURIComponent(part)).join("/")}`;
}
