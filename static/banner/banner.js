/*! consentkit banner: <script src="/consentkit/banner.js" defer>, with GET state and
   POST consent {action, categories} beside it. Decision cookie (signed by the server):
   consentkit="<policy>|<category+category>|<id>.<time>.<signature>". CSP-safe: it loads
   banner.css itself; no inline script or style. */
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

  sendConsentMode("default", () => false);

  let state, config, lastDecision, dialogOpener;
  let bannerLoading, stylesheetLoading, pendingDecision;
  let root, banner, overlay, dialog;
  const switches = {};

  /**
   * window.consentkit, for the page's own scripts (examples: docs/banner.md).
   * - state: {decided, categories (granted), policy_version, gpc}
   * - allows(category): boolean
   * - show(returnFocusTo?): opens the preferences, as a click on [data-consentkit-open] does
   * - accept(), reject(): as the buttons; a Promise of the new state.
   * A decision updates Consent Mode (all "denied" before), runs the content gated on
   * data-category (script, iframe, img), then fires "consentkit:change" on window, with the
   * state as detail.
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
      policy_version: answer.policy_version || null,
      gpc: !!answer.gpc,
    };
    config = answer.config || config;
  }

  function allows(category) {
    return category == NECESSARY || state.categories.includes(category); // "==", as always
  }

  // The server writes its policy version here: a decision under another one is no decision,
  // even on a page a CDN cached with the old cookie.
  const POLICY_VERSION = "%CK_POLICY%";

  function readDecisionCookie() {
    const match = document.cookie.match(/(?:^|;\s*)consentkit="?([^;"]*)/);
    if (!match) return null;
    const fields = match[1].split(".").slice(0, -2).join(".").split("|");
    if (fields.length < 3) return null;
    const [policyVersion, granted] = fields;
    // Still the marker: not served by the middleware.
    if (POLICY_VERSION[0] !== "%" && policyVersion !== POLICY_VERSION) return null;
    const categories = granted.split("+").filter((name) => name && name !== NECESSARY);
    return {
      decided: true,
      categories: [NECESSARY, ...categories],
      policy_version: policyVersion,
      gpc: globalPrivacyControl,
    };
  }

  function activateGatedContent() {
    document.querySelectorAll("[data-category]").forEach((element) => {
      const isScript = element.tagName === "SCRIPT";
      const waiting = isScript ? element.type === "text/plain" : !!element.dataset.src;
      if (!waiting || !element.dataset.category.trim().split(/\s+/).every(allows)) return;
      if (isScript) runScript(element);
      else loadSource(element);
    });
  }

  function loadSource(element) {
    const source = element.dataset.src;
    element.removeAttribute("data-src");
    element.src = source;
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

  function decide(action, categories = []) {
    if (pendingDecision) return pendingDecision;
    lastDecision = [action, categories];
    showError(false);
    pendingDecision = request("/consent", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ action, categories }),
    }).then((answer) => {
      pendingDecision = null;
      adoptState(answer);
      if (root) {
        setVisible(banner, !state.decided);
        closeDialog();
      }
      applyConsent();
      window.dispatchEvent(new CustomEvent("consentkit:change", { detail: state }));
      return state;
    }, (error) => {
      pendingDecision = null;
      showError(true);
      throw error;
    });
    return pendingDecision;
  }

  function decideOnClick(action, chosenCategories) {
    return () => decide(action, chosenCategories && chosenCategories()).catch(ignore);
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
    const ticked = () => config.categories.map((c) => c.name)
      .filter((name) => switches[name].checked);
    const save = button(texts.save, decideOnClick("custom", ticked));
    box.append(head, textBlock(texts), list, choiceButtons(texts, save));
    box.onkeydown = onDialogKeydown;
    return box;
  }

  function categoryRow(category) {
    const id = "ck-c-" + category.name;
    const row = el("div", { class: "ck-cat" });
    const toggle = el("input",
      { class: "ck-sw", type: "checkbox", role: "switch", id, "aria-describedby": id + "d" });
    toggle.disabled = !!category.required;
    switches[category.name] = toggle;
    row.append(el("label", { class: "ck-cat-t", for: id }, category.title), toggle,
      el("p", { class: "ck-desc", id: id + "d" }, category.description));
    return row;
  }

  function dialogIsOpen() {
    return !!root && !overlay.classList.contains("ck-hidden");
  }

  function focusStops() {
    return [...dialog.querySelectorAll("button,input")]
      .filter((node) => !node.disabled && node.getClientRects().length);
  }

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
    for (const category of config.categories) {
      switches[category.name].checked = category.required || allows(category.name);
    }
    setVisible(overlay, true);
    focusStops()[0].focus();
  }

  function closeDialog() {
    if (!dialogIsOpen()) return;
    setVisible(overlay, false);
    const opener = dialogOpener;
    const usable = opener && opener.isConnected && opener.getClientRects().length;
    const target = usable ? opener : banner.querySelector(".ck-btn");
    if (target && target.getClientRects().length) target.focus();
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
    sendConsentMode("update", allows); // a returning visitor: no request, no banner
    whenReady(activateGatedContent);
  } else {
    whenReady(() => loadBanner().catch(ignore));
  }
})();
