/* Self-assessment page: form <-> pledge request JSON, submit, field errors, report downloads.
   Vanilla JS, no external assets. Inputs are named by their request field path (e.g.
   "product.peak_sales.p50"); patent inputs get "patents[i].<field>" names when rows are renumbered,
   so a validation error's field path finds its input directly. */
(function () {
  "use strict";
  var form = document.getElementById("pledge-form");
  var rows = document.getElementById("patents");
  var tpl = document.getElementById("patent-row");
  var results = document.getElementById("results");
  var statusEl = document.getElementById("status");
  var formError = document.getElementById("form-error");
  var EXAMPLES = JSON.parse(document.getElementById("examples-data").textContent);
  var T = JSON.parse(document.getElementById("i18n-data").textContent);   // UI strings in the page's language
  var LANG = form.dataset.lang || "en";
  function withLang(url) { return url + (url.indexOf("?") < 0 ? "?" : "&") + "lang=" + encodeURIComponent(LANG); }
  var lastRequest = null;

  function renumber() {
    Array.prototype.forEach.call(rows.querySelectorAll("fieldset.patent"), function (fs, i) {
      fs.dataset.index = i;
      fs.querySelector(".n").textContent = String(i + 1);
      fs.querySelectorAll("[data-f]").forEach(function (el) {
        var name = "patents[" + i + "]." + el.dataset.f, id = "patents-" + i + "-" + el.dataset.f;
        if (el.tagName === "LABEL") { el.htmlFor = id; } else { el.name = name; el.id = id; }
      });
    });
  }

  function addPatent(p) {
    var node = tpl.content.firstElementChild.cloneNode(true);
    rows.appendChild(node);
    if (p) {
      node.querySelectorAll("input[data-f], select[data-f]").forEach(function (el) {
        var v = p[el.dataset.f];
        if (v === undefined) { return; }
        if (el.type === "checkbox") { el.checked = !!v; }
        else if (Array.isArray(v)) { el.value = v.join(", "); }
        else { el.value = v === null ? "" : v; }
      });
    }
    node.querySelector(".remove-patent").addEventListener("click", function () {
      if (rows.children.length > 1) { node.remove(); renumber(); }
    });
    renumber();
  }

  function setValue(name, v) {
    var el = form.elements.namedItem(name);
    if (!el) { return; }
    if (el.type === "checkbox") { el.checked = !!v; } else { el.value = (v === null || v === undefined) ? "" : v; }
  }

  function flatten(obj, prefix, out) {
    Object.keys(obj).forEach(function (k) {
      var v = obj[k], path = prefix ? prefix + "." + k : k;
      if (v && typeof v === "object" && !Array.isArray(v)) { flatten(v, path, out); } else { out[path] = v; }
    });
    return out;
  }

  function loadRequest(req) {
    clearErrors();
    form.querySelectorAll("input[name]:not([name^='patents']), select[name]:not([name^='patents'])").forEach(function (el) {
      if (el.type === "checkbox") { el.checked = false; }
    });
    var flat = flatten(req, "", {});
    Object.keys(flat).forEach(function (k) { if (k !== "patents") { setValue(k, flat[k]); } });
    rows.innerHTML = "";
    (req.patents || []).forEach(addPatent);
    lastRequest = null;
  }

  function readValue(el) {
    if (el.type === "checkbox") { return el.checked; }
    var raw = el.value.trim(), t = el.dataset.type;
    if (t === "list") { return raw ? raw.split(/[\s,;]+/).filter(Boolean).map(function (s) { return s.toUpperCase(); }) : []; }
    if (raw === "") { return null; }
    if (t === "int" || t === "number") { var n = Number(raw); return isNaN(n) ? raw : n; }
    return raw;
  }

  function assign(obj, path, value) {
    var parts = path.replace(/\[(\d+)\]/g, ".$1").split("."), cur = obj;
    for (var i = 0; i < parts.length - 1; i++) {
      var key = /^\d+$/.test(parts[i]) ? Number(parts[i]) : parts[i];
      if (cur[key] === undefined) { cur[key] = /^\d+$/.test(parts[i + 1]) ? [] : {}; }
      cur = cur[key];
    }
    cur[/^\d+$/.test(parts[parts.length - 1]) ? Number(parts[parts.length - 1]) : parts[parts.length - 1]] = value;
  }

  function readForm() {
    var req = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.tagName === "BUTTON") { return; }
      var v = readValue(el);   // empty -> null: optional fields accept it, required ones get a field error
      if (el.name === "scenario" && v === null) { return; }
      assign(req, el.name, v);
    });
    if (req.sharing && req.sharing.scheme !== "custom") { req.sharing.shares = null; }
    return req;
  }

  function clearErrors() {
    form.querySelectorAll(".field-error").forEach(function (e) { e.remove(); });
    form.querySelectorAll("[aria-invalid]").forEach(function (e) { e.removeAttribute("aria-invalid"); });
    formError.hidden = true; formError.textContent = "";
  }

  function showErrors(errors) {
    var unplaced = [];
    errors.forEach(function (err, i) {
      var el = form.elements.namedItem(err.field);
      if (el && el.length && !el.tagName) { el = el[0]; }
      var msg = document.createElement("span");
      msg.className = "field-error";
      msg.textContent = err.message;
      if (el) {
        msg.id = "err-" + i;
        el.setAttribute("aria-invalid", "true");
        el.setAttribute("aria-describedby", msg.id);
        el.closest(".field").appendChild(msg);
      } else {
        var slot = form.querySelector('.field-error-slot[data-for="' + err.field.split(/[.\[]/)[0] + '"]');
        if (slot) { slot.appendChild(msg); } else { unplaced.push(err.field + ": " + err.message); }
      }
    });
    formError.textContent = T.fix_fields + (unplaced.length ? " " + unplaced.join("; ") : "");
    formError.hidden = false;
    var first = form.querySelector("[aria-invalid='true']");
    if (first) {
      var det = first.closest("details"); if (det) { det.open = true; }
      first.focus();
    }
  }

  function post(url, body) {
    return fetch(url, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    clearErrors();
    var req = readForm(), btn = document.getElementById("assess");
    btn.disabled = true;
    statusEl.textContent = T.assessing;
    post(withLang(form.dataset.endpoint || "self-assessment"), req).then(function (resp) {
      return resp.json().then(function (body) { return {resp: resp, body: body}; });
    }).then(function (r) {
      if (r.resp.ok) {
        lastRequest = req;
        results.innerHTML = r.body.html;
        results.hidden = false;
        statusEl.textContent = T.done;
        wireDownloads();
        results.scrollIntoView({behavior: "smooth", block: "start"});
      } else if (r.body && r.body.errors) {
        statusEl.textContent = "";
        showErrors(r.body.errors);
      } else {
        statusEl.textContent = "";
        formError.textContent = (r.body && (r.body.detail || r.body.title)) || (T.error + " " + r.resp.status);
        formError.hidden = false;
      }
    }).catch(function (e) {
      statusEl.textContent = "";
      formError.textContent = T.failed + " " + e; formError.hidden = false;
    }).then(function () { btn.disabled = false; });
  });

  function wireDownloads() {
    results.querySelectorAll("a[data-format]").forEach(function (a) {
      a.addEventListener("click", function (ev) {
        ev.preventDefault();
        if (!lastRequest) { return; }
        var fmt = a.dataset.format;
        a.textContent = fmt.toUpperCase() + " (" + T.generating + ")";
        post(withLang("self-assessment/report." + fmt), lastRequest).then(function (resp) {
          if (!resp.ok) { throw new Error("HTTP " + resp.status); }
          return resp.blob();
        }).then(function (blob) {
          var url = URL.createObjectURL(blob), tmp = document.createElement("a");
          tmp.href = url; tmp.download = "readiness-report." + fmt;
          document.body.appendChild(tmp); tmp.click(); tmp.remove();
          setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
          a.textContent = fmt.toUpperCase();
        }).catch(function (e) { a.textContent = fmt.toUpperCase() + " (" + T.failed + " " + e.message + ")"; });
      });
    });
  }

  document.querySelectorAll("button[data-example]").forEach(function (b) {
    b.addEventListener("click", function () {
      var ex = EXAMPLES[b.dataset.example];
      if (!ex) { return; }
      // the example's own paths and seed, as the API and the CLI run it: the same figures everywhere
      loadRequest(ex);
      statusEl.textContent = T.loaded + " " + b.textContent.trim();
    });
  });
  document.getElementById("add-patent").addEventListener("click", function () { addPatent(null); });
  addPatent(null);
})();
