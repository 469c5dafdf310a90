/* consentkit banner: <script src="/consentkit/banner.js" defer>, with GET state and
   POST consent {action, categories, services} beside it. Decision cookie (signed by the
   server): consentkit="<policy>|<name+name>|<id>.<time>.<signature>", the names being the
   granted categories, then the services granted alone. CSP-safe: it loads banner.css
   itself; no inline script or style. Served minified; this is the readable source. */
(function () {
  "use strict";

  if (window.consentkit && window.consentkit.allows) return; // the tag is on the page twice

  const thisScript = document.currentScript;
  const prefix = thisScript
    ? thisScript.src.split(/[?#]/)[0].replace(/\/[^/]*$/, "")
    : "/consentkit";
  const NECESSARY = "necessary";
  const globalPrivacyControl = navigator.globalPrivacyControl === true;
  const ignore = () => {};
  // Written by the server: each service's category, the Consent Mode options.
  const site = /*CK_SITE*/{};
  const serviceCategory = site.services || {};
  // Sent by consent-defaults.js when it is first in <head>: "default" or "update".
  const sentByDefaults = window.consentkit && window.consentkit.defaults;

  window.dataLayer = window.dataLayer || [];
  // As Google's own gtag: tags look for an arguments object, not an array.
  function gtag() {
    window.dataLayer.push(arguments);
  }
  if (typeof window.gtag !== "function") window.gtag = gtag;

  function sendConsentMode(command, isGranted) {
    const analytics = isGranted("analytics") ? "granted" : "denied";
    const marketing = isGranted("marketing") ? "granted" : "denied";
    gtag("consent", command, {
      analytics_storage: analytics,
      ad_storage: marketing,
      ad_user_data: marketing,
      ad_personalization: marketing,
    });
  }

  if (!sentByDefaults) sendConsentMode("default", () => false);

  let state, config, lastDecision, dialogOpener, focusBefore;
  let bannerLoading, stylesheetLoading, pendingDecision;
  let root, banner, overlay, dialog;
  const switches = {};

  /**
   * window.consentkit, for the page's own scripts (examples: docs/banner.md).
   * - state: {decided, categories (granted), services (allowed), policy_version, gpc}
   * - allows(name): boolean, for a category or a service
   * - show(returnFocusTo?): opens the preferences, as a click on [data-consentkit-open] does
   * - accept(), reject(): as the buttons; a Promise of the new state.
   * A decision updates Consent Mode (all "denied" before), runs the content gated on
   * data-category or data-service (script, iframe, img), then fires "consentkit:change" on
   * window (and "consentkit:first" on the first decision), with the state as detail plus
   * first, granted and revoked (the names that changed).
   * @namespace consentkit
   */
  const api = (window.consentkit = {
    show,
    allows,
    accept: () => decide("accept_all"),
    reject: () => decide("reject_all"),
  });

  function adoptState(answer) {
    state = api.state = {
      decided: !!answer.decided,
      categories: answer.categories || [NECESSARY],
      services: answer.services || [],
      policy_version: answer.policy_version || null,
      gpc: !!answer.gpc,
    };
    config = answer.config || config;
  }

  function allows(name) {
    // "==", as always
    return name == NECESSARY || state.categories.includes(name) || state.services.includes(name);
  }

  function allowedNames() {
    return [...state.categories, ...state.services];
  }

  // The server writes its policy version here: a decision under another one is no decision,
  // even on a page a CDN cached with the old cookie.
  const POLICY_VERSION = "%CK_POLICY%";

  function readDecisionCookie() {
    const match = document.cookie.match(/(?:^|;\s*)consentkit="?([^;"]*)/);
    if (!match) return null;
    const fields = match[1].split(".").slice(0, -2).join(".").split("|");
    if (fields.length < 3) return null;
    const [policyVersion, written] = fields;
    // Still the marker: not served by the middleware.
    if (POLICY_VERSION[0] !== "%" && policyVersion !== POLICY_VERSION) return null;
    const names = written.split("+");
    const categories = names.filter((name) => name && name !== NECESSARY && !serviceCategory[name]);
    return {
      decided: true,
      categories: [NECESSARY, ...categories],
      services: Object.keys(serviceCategory).filter(
        (service) => names.includes(service) || categories.includes(serviceCategory[service])),
      policy_version: policyVersion,
      gpc: globalPrivacyControl,
    };
  }

  // What an element waits for: all of its categories, or its service.
  function gateAllows(element) {
    const service = element.dataset.service;
    if (service) return allows(service);
    return element.dataset.category.trim().split(/\s+/).every(allows);
  }

  function activateGatedContent() {
    document.querySelectorAll("[data-category],[data-service]").forEach((element) => {
      const isScript = element.tagName === "SCRIPT";
      const waiting = isScript ? element.type === "text/plain" : !!element.dataset.src;
      if (!waiting) return;
      if (gateAllows(element)) {
        if (isScript) runScript(element);
        else loadSource(element);
      } else if (element.tagName === "IFRAME") {
        waitingFrames.push(element);
      }
    });
    showPlaceholders();
  }

  function loadSource(element) {
    const source = element.dataset.src;
    element.removeAttribute("data-src");
    element.src = source;
    const placeholder = element.ckPlaceholder;
    if (placeholder) {
      placeholder.remove();
      setVisible(element, true);
    }
  }

  // Only a new script element runs. The nonce is read from the property (browsers hide the
  // attribute); a style attribute would break a strict CSP.
  function runScript(placeholder) {
    const script = document.createElement("script");
    for (const { name, value } of placeholder.attributes) {
      if (!/^(type|data-src|nonce|style)$/.test(name)) script.setAttribute(name, value);
    }
    script.nonce = placeholder.nonce;
    const source = placeholder.dataset.src;
    if (source) {
      script.async = placeholder.async; // inserted scripts default to async
      script.src = source;
    } else {
      script.text = placeholder.text;
    }
    placeholder.replaceWith(script);
  }

  // ---- placeholders: a gated iframe says what it would load, and loads it on request ----

  let waitingFrames = [];

  function showPlaceholders() {
    const frames = waitingFrames.filter((frame) => !frame.ckPlaceholder);
    waitingFrames = [];
    if (!frames.length) return;
    const configLoaded = config || bannerLoading || request("/state").then(adoptConfig);
    Promise.all([configLoaded, loadStylesheet()]).then(() => {
      for (const frame of frames) {
        const service = frame.dataset.service;
        // A service the site does not configure cannot be allowed: no button for it.
        if (frame.dataset.src && (!service || serviceCategory[service])) placeholderFor(frame);
      }
    }, ignore);
  }

  function adoptConfig(answer) {
    config = answer.config;
  }

  function titleOf(name) {
    for (const category of config.categories) {
      if (category.name === name) return category.title;
      for (const service of category.services || []) if (service.name === name) return service.title;
    }
    return name;
  }

  function placeholderFor(frame) {
    const texts = config.texts;
    const service = frame.dataset.service;
    const category = service ? serviceCategory[service] : frame.dataset.category.trim();
    // The service's name, else the frame's own title: "YouTube", "A map of the venue".
    const what = service ? titleOf(service) : frame.title || titleOf(category);
    const box = el("div", { class: "ck-embed", role: "group", "aria-label": what });
    const size = frame.getBoundingClientRect();
    box.style.width = size.width + "px"; // CSSOM, not a style attribute: allowed by a CSP
    box.style.height = size.height + "px";
    const notice = texts.embed_notice.replace("{service}", what)
      .replace("{category}", titleOf(category));
    // Focus goes to the frame that replaces the placeholder (and its button).
    const allow = button(texts.embed_allow,
      () => allowFrame(service, category).then(() => frame.focus(), ignore));
    allow.setAttribute("aria-label", texts.embed_allow + ": " + what);
    box.append(el("p", {}, notice), allow);
    frame.ckPlaceholder = box;
    frame.before(box);
    setVisible(frame, false);
  }

  // The visitor's choice so far, plus this service (or category): recorded, then loaded.
  function allowFrame(service, category) {
    const categories = state.categories.filter((name) => name !== NECESSARY);
    const services = state.services.filter((name) => !categories.includes(serviceCategory[name]));
    if (service) services.push(service);
    else categories.push(...category.split(/\s+/));
    return decide("custom", categories, services);
  }

  function applyConsent() {
    sendConsentMode("update", allows);
    activateGatedContent();
  }

  function request(path, options) {
    const init = { credentials: "same-origin", cache: "no-store", ...options };
    return fetch(prefix + path, init).then((response) => {
      if (response.status !== 200) throw new Error(response.status);
      return response.json();
    });
  }

  function loadStylesheet() {
    stylesheetLoading = stylesheetLoading || new Promise((resolve) => {
      const link = el("link");
      link.rel = "stylesheet";
      link.href = prefix + "/banner.css";
      link.onload = link.onerror = resolve;
      document.head.append(link);
    });
    return stylesheetLoading;
  }

  function loadBanner() {
    const stylesheetLoaded = loadStylesheet(); // never shown unstyled
    if (bannerLoading) return bannerLoading;
    bannerLoading = Promise.all([request("/state"), stylesheetLoaded]).then(([answer]) => {
      adoptState(answer);
      buildBanner(answer);
      setVisible(banner, !state.decided && !answer.bot);
      // Decided in another tab; the cookie's decision was applied at start.
      if (state.decided && !cookieDecision) applyConsent();
    }, (error) => {
      bannerLoading = null;
      throw error;
    });
    return bannerLoading;
  }

  function decide(action, categories = [], services = []) {
    if (pendingDecision) return pendingDecision;
    lastDecision = [action, categories, services];
    showError(false);
    const before = allowedNames();
    const first = !state.decided;
    const fromBanner = !!root && root.contains(document.activeElement);
    pendingDecision = request("/consent", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ action, categories, services }),
    }).then((answer) => {
      pendingDecision = null;
      adoptState(answer);
      if (root) {
        setVisible(banner, !state.decided);
        closeDialog();
      }
      if (fromBanner) returnFocus();
      applyConsent();
      const now = allowedNames();
      const detail = { ...state, first,
        granted: now.filter((name) => !before.includes(name)),
        revoked: before.filter((name) => !now.includes(name)) };
      if (first) window.dispatchEvent(new CustomEvent("consentkit:first", { detail }));
      window.dispatchEvent(new CustomEvent("consentkit:change", { detail }));
      return state;
    }, (error) => {
      pendingDecision = null;
      showError(true);
      throw error;
    });
    return pendingDecision;
  }

  function decideOnClick(action, chosen) {
    return () => decide(action, ...(chosen ? chosen() : [])).catch(ignore);
  }

  function retry() {
    if (lastDecision) decide(...lastDecision).catch(ignore);
  }

  function el(tag, attributes, text) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
    if (text) node.textContent = text;
    return node;
  }

  function button(text, onClick, className = "ck-btn", attributes) {
    const node = el("button", { class: className, ...attributes }, text);
    node.type = "button";
    node.onclick = onClick;
    return node;
  }

  function setVisible(node, visible) {
    node.classList.toggle("ck-hidden", !visible);
  }

  function showError(visible) {
    if (!root) return;
    root.querySelectorAll(".ck-err").forEach((box) => {
      setVisible(box, visible);
      box.firstChild.textContent = visible ? config.texts.error : ""; // announced each time
    });
  }

  function textBlock(texts, ...leading) {
    const block = el("div", { class: "ck-text" });
    block.append(...leading);
    if (state.gpc) block.append(el("p", { class: "ck-gpc" }, texts.gpc_notice));
    const error = el("div", { class: "ck-err ck-hidden" });
    error.append(el("span", { role: "alert" }), button(texts.retry, retry, "ck-retry"));
    block.append(error);
    return block;
  }

  function choiceButtons(texts, third) {
    const row = el("div", { class: "ck-btns" }); // of equal weight
    row.append(button(texts.accept_all, decideOnClick("accept_all")),
      button(texts.reject_all, decideOnClick("reject_all")), third);
    return row;
  }

  function buildBanner(answer) {
    if (root) return;
    const texts = config.texts;
    root = el("div", {
      class: "ck-root ck-" + (config.position === "box" ? "box" : "bar"),
      dir: answer.dir === "rtl" ? "rtl" : "ltr",
      lang: answer.language || "",
    });
    banner = el("div", { class: "ck-banner ck-hidden", role: "region", "aria-label": texts.title });
    const heading = el("h2", { class: "ck-title" }, texts.title);
    const description = el("p", { class: "ck-desc" }, texts.description);
    const preferences = button(texts.preferences, (event) => openDialog(event.currentTarget));
    banner.append(textBlock(texts, heading, description), choiceButtons(texts, preferences));
    overlay = el("div", { class: "ck-overlay ck-hidden" });
    dialog = buildDialog(texts);
    overlay.append(dialog);
    root.append(banner, overlay);
    document.body.append(root);
    document.addEventListener("focusin", keepFocusInDialog);
  }

  function buildDialog(texts) {
    const box = el("div", { class: "ck-dialog", role: "dialog", "aria-modal": "true",
      "aria-labelledby": "ck-dlg-title", tabindex: "-1" });
    const head = el("div", { class: "ck-head" });
    head.append(el("h2", { class: "ck-title", id: "ck-dlg-title" }, texts.preferences),
      button("\u00d7", closeDialog, "ck-close", { "aria-label": texts.close }));
    const list = el("div", { class: "ck-cats" });
    for (const category of config.categories) list.append(categoryRow(category));
    const save = button(texts.save, decideOnClick("custom", ticked));
    box.append(head, textBlock(texts), list, choiceButtons(texts, save));
    box.onkeydown = onDialogKeydown;
    return box;
  }

  // The switches as a choice: the ticked categories, and the services ticked alone.
  function ticked() {
    const categories = config.categories.map((c) => c.name).filter((name) => switches[name].checked);
    const services = Object.keys(serviceCategory).filter((name) => switches[name] &&
      switches[name].checked && !categories.includes(serviceCategory[name]));
    return [categories, services];
  }

  function switchRow(item, className) {
    const id = "ck-c-" + item.name;
    const row = el("div", { class: className });
    const toggle = el("input",
      { class: "ck-sw", type: "checkbox", role: "switch", id, "aria-describedby": id + "d" });
    switches[item.name] = toggle;
    row.append(el("label", { class: "ck-cat-t", for: id }, item.title), toggle,
      el("p", { class: "ck-desc", id: id + "d" }, item.description || ""));
    return row;
  }

  // A category's switch, with its services' switches under it: turning the category on
  // or off turns them all; a service alone may be on while its category is off.
  function categoryRow(category) {
    const row = switchRow(category, "ck-cat");
    const toggle = switches[category.name];
    toggle.disabled = !!category.required;
    const services = (category.services || []).map((service) => {
      const serviceRow = switchRow(service, "ck-svc");
      switches[service.name].onchange = () => {
        if (!switches[service.name].checked) toggle.checked = false;
      };
      row.append(serviceRow);
      return switches[service.name];
    });
    toggle.onchange = () => services.forEach((item) => (item.checked = toggle.checked));
    return row;
  }

  function dialogIsOpen() {
    return !!root && !overlay.classList.contains("ck-hidden");
  }

  function focusStops() {
    return [...dialog.querySelectorAll("button,input")]
      .filter((node) => !node.disabled && node.getClientRects().length);
  }

  // Remembered while focus is on the page, so a decision can give it back there.
  function isUsable(node) {
    return node && node.isConnected && node !== document.body && node.getClientRects().length;
  }

  document.addEventListener("focusin", (event) => {
    if (!root || !root.contains(event.target)) focusBefore = event.target;
  });

  function keepFocusInDialog(event) {
    if (dialogIsOpen() && !dialog.contains(event.target)) focusStops()[0].focus();
  }

  function onDialogKeydown(event) {
    if (event.key === "Escape") {
      event.preventDefault();
      closeDialog();
    }
    if (event.key !== "Tab") return;
    const stops = focusStops();
    const first = stops[0];
    const last = stops[stops.length - 1];
    const current = document.activeElement;
    if (event.shiftKey ? current === first || current === dialog : current === last) {
      event.preventDefault();
      (event.shiftKey ? last : first).focus();
    }
  }

  function openDialog(from) {
    if (dialogIsOpen()) return;
    dialogOpener = from;
    // The choice as the server holds it: nothing is pre-ticked before a decision.
    for (const name in switches) switches[name].checked = name === NECESSARY || allows(name);
    setVisible(overlay, true);
    focusStops()[0].focus();
  }

  function closeDialog() {
    if (!dialogIsOpen()) return;
    setVisible(overlay, false);
    const target = isUsable(dialogOpener) ? dialogOpener : banner.querySelector(".ck-btn");
    if (isUsable(target)) target.focus();
  }

  // After a decision the banner and dialog are gone: focus goes back to what opened them,
  // or to where it was on the page, never lost to <body>.
  function returnFocus() {
    const target = [dialogOpener, focusBefore].find(isUsable);
    if (target) target.focus();
    else document.activeElement.blur();
  }

  function show(returnFocusTo) {
    const from = returnFocusTo && returnFocusTo.focus ? returnFocusTo : document.activeElement;
    return (root ? Promise.resolve() : loadBanner()).then(() => openDialog(from));
  }

  document.addEventListener("click", (event) => {
    const trigger = event.target.closest && event.target.closest("[data-consentkit-open]");
    if (!trigger) return;
    event.preventDefault();
    show(trigger).catch(ignore);
  });

  function whenReady(callback) {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", callback);
    else callback();
  }

  const cookieDecision = readDecisionCookie();
  adoptState(cookieDecision || { gpc: globalPrivacyControl });
  if (cookieDecision) {
    // A returning visitor: no banner; consent-defaults.js may have sent this update already.
    if (sentByDefaults !== "update") sendConsentMode("update", allows);
    whenReady(activateGatedContent);
  } else {
    whenReady(() => {
      loadBanner().catch(ignore);
      activateGatedContent(); // nothing runs yet, but gated frames get their placeholder
    });
  }
})();
