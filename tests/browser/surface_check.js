// Checks a page against services/wamesh/engines/browser/surface.json (see test_surface.py).
// Loaded into every document of the page as an init script; knows nothing of the stand-in.
(() => {
  "use strict";

  const EMITTER = ["on", "off", "once", "trigger"];
  const isEmitter = (v) => v != null && EMITTER.every((f) => typeof v[f] === "function");
  const isClass = (v) => typeof v === "function" && /^class[\s{]/.test(Function.prototype.toString.call(v));
  const isAsync = (v) => typeof v === "function" && v.constructor && v.constructor.name === "AsyncFunction";
  const label = (e) => `${e.module}:${e.member}`;

  // The object an entry's member path starts from, or a problem string.
  function base(entry, samples) {
    if (entry.instance) {
      const sample = samples && samples[entry.instance];
      return sample == null ? { problem: `no ${entry.instance} sample to check` } : { value: sample };
    }
    if (entry.module === "window") return { value: window };
    try {
      return { value: window.require(entry.module) };
    } catch (e) {
      return { problem: `window.require('${entry.module}') threw: ${e && e.message}` };
    }
  }

  // Walk `path` ("a.b.c", last part may be "x|y") from `start`: {present, value} or a problem.
  function walk(start, path) {
    if (path === "" || path === ".") return { present: true, value: start };
    const parts = path.split(".");
    let obj = start;
    for (let i = 0; i < parts.length; i++) {
      if (obj == null) return { problem: `${parts.slice(0, i).join(".")} is ${obj}` };
      const names = parts[i].split("|");
      const name = names.find((n) => n in Object(obj));
      if (name === undefined) return { present: false, problem: `${parts.slice(0, i + 1).join(".")} is missing` };
      obj = obj[name];
    }
    return { present: true, value: obj };
  }

  function memberPath(entry) {
    let path = entry.member.split("#")[0];
    if (entry.instance) path = path === entry.instance ? "" : path.slice(entry.instance.length + 1);
    return path;
  }

  function kindProblem(kind, v) {
    switch (kind) {
      case "function":
        if (typeof v !== "function") return `expected a function, got ${typeof v}`;
        if (isAsync(v)) return "expected a plain (sync) function, got an async function";
        if (isClass(v)) return "expected a function, got a class";
        return null;
      case "async function":
        if (typeof v !== "function") return `expected an async function, got ${typeof v}`;
        return isAsync(v) ? null : "expected an async function, got a sync function";
      case "model":
        return isEmitter(v) ? null : "expected a model (on/off/once/trigger)";
      case "collection":
        return isEmitter(v) && typeof v.get === "function" ? null : "expected a collection (on/off/once/trigger, get)";
      case "constant":
        return v === undefined ? "expected a value, got undefined" : null;
      case "class":
        return isClass(v) ? null : "expected a class";
      case "attribute":
        return null;
      case "event":
        return isEmitter(v) ? null : "the event's owner is not an emitter";
      default:
        return `unknown kind ${kind}`;
    }
  }

  // Problems of one entry resolved now (kind included); [] when it is fine.
  function checkEntry(entry, samples) {
    const start = base(entry, samples);
    if (start.problem) return [`${label(entry)}: ${start.problem}`];
    const found = walk(start.value, memberPath(entry));
    if (found.problem) return [`${label(entry)}: ${found.problem}`];
    const problem = kindProblem(entry.kind, found.value);
    return problem ? [`${label(entry)}: ${problem}`] : [];
  }

  // mode "unpaired": boot entries resolve with their kind; ready modules are not loadable yet.
  // mode "ready": boot and ready entries resolve with their kind; optional ones if present.
  function check(entries, mode, samples) {
    const problems = [];
    for (const entry of entries) {
      if (entry.phase === "boot") {
        if (!entry.instance) problems.push(...checkEntry(entry, samples));
      } else if (entry.phase === "ready") {
        if (mode === "ready") {
          problems.push(...checkEntry(entry, samples));
        } else if (!entry.instance) {
          let loaded = true;
          try { window.require(entry.module); } catch (e) {
            loaded = false;
            if (!/Requiring unknown module/.test(String(e && e.message))) {
              problems.push(`${label(entry)}: threw an unexpected error before login: ${e && e.message}`);
            }
          }
          if (loaded) problems.push(`${label(entry)}: module ${entry.module} resolves before login (ready phase)`);
        }
      } else if (entry.phase === "optional" && mode === "ready") {
        let present = true;
        try { window.require(entry.module); } catch (e) { present = false; }
        if (present) problems.push(...checkEntry(entry, samples));
      }
    }
    return problems;
  }

  function summarize(args) {
    return args.map((a) => {
      if (a === null) return "null";
      if (isEmitter(a)) return a.id && typeof a.id === "object" && "fromMe" in a.id ? "msg" : "model";
      return typeof a;
    });
  }

  // Subscribe to the event entries whose owner resolves now; every emission goes to the page's
  // exposed window.__surfaceEvent(key, argKinds). Returns the keys subscribed and the problems.
  function listen(entries, samples) {
    const subscribed = [];
    const problems = [];
    for (const entry of entries) {
      if (entry.kind !== "event") continue;
      const start = base(entry, samples);
      if (start.problem) { problems.push(`${label(entry)}: ${start.problem}`); continue; }
      const owner = walk(start.value, memberPath(entry));
      if (owner.problem || !isEmitter(owner.value)) { problems.push(`${label(entry)}: no emitter to listen on`); continue; }
      const name = entry.member.split("#")[1];
      const key = label(entry);
      const fn = (...args) => { window.__surfaceEvent(key, summarize(args)); };
      if (entry.instance) owner.value.once(name, fn); else owner.value.on(name, fn);
      subscribed.push(key);
    }
    return { subscribed, problems };
  }

  window.__surfaceCheck = { check, listen, checkEntry, summarize };
})();
