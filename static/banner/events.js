/*! consentkit events: goals (window.consentkit.track), single-page apps' page views and
   engagement (time a page was read, how far it was scrolled).
   <script src="/consentkit/events.js" defer></script> after the banner's tag; with
   data-consentkit-spa on either tag, history navigations count as page views. Kept out of
   banner.js so that the banner stays within its 6 KB budget for sites that need none. */
(function () {
  "use strict";

  const thisScript = document.currentScript;
  const prefix = thisScript
    ? thisScript.src.split(/[?#]/)[0].replace(/\/[^/]*$/, "")
    : "/consentkit";
  const spa =
    (thisScript && thisScript.hasAttribute("data-consentkit-spa")) ||
    document.querySelector("script[data-consentkit-spa]") !== null;

  // A page is engaged while it is visible and focused, until IDLE_MS pass without the
  // visitor scrolling, typing, clicking or moving the pointer.
  const IDLE_MS = 3 * 60 * 1000;
  const ACTIVITY = ["scroll", "keydown", "pointerdown", "pointermove", "wheel", "touchstart"];

  function sendEvent(api, body) {
    if (!api.allows("analytics")) return Promise.resolve(false);
    return fetch(prefix + "/event", {
      method: "POST",
      credentials: "same-origin",
      keepalive: true, // a goal sent as the page is left still arrives
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    })
      .then((response) => response.json())
      .then((answer) => answer.counted === true, () => false);
  }

  function start(api) {
    if (api.track) return; // the tag is on the page twice
    /**
     * Count a custom event (a goal such as "signup") on this page while the visitor grants
     * analytics.
     * @param {string} name at most 64 characters
     * @returns {Promise<boolean>} whether it was counted
     */
    api.track = function track(name) {
      return sendEvent(api, { name: String(name), page: location.pathname });
    };
    const engagement = measureEngagement(api);
    if (!spa) return;
    // The first page was counted by the server as it sent the HTML: only later navigations
    // are sent, as their path (the query string never leaves the page).
    let countedPath = location.pathname;
    function navigated() {
      if (location.pathname === countedPath) return; // a new query or hash: the same page
      engagement.report(); // the view that ends, under its own path
      countedPath = location.pathname;
      engagement.restart(countedPath);
      sendEvent(api, { pageview: countedPath }).catch(() => {});
    }
    for (const method of ["pushState", "replaceState"]) {
      const original = history[method];
      history[method] = function () {
        const result = original.apply(this, arguments);
        navigated();
        return result;
      };
    }
    window.addEventListener("popstate", navigated);
  }

  /** Engaged time and deepest scroll of the current page view, reported once as it ends
   * (hidden, left, or a single-page app's navigation), only while analytics is granted. */
  function measureEngagement(api) {
    let path, engagedMs, since, lastActive, deepest, reported;

    function engaged() {
      return (
        document.visibilityState === "visible" && document.hasFocus() && api.allows("analytics")
      );
    }
    function settle(now) {
      if (since !== null) engagedMs += Math.max(0, Math.min(now, lastActive + IDLE_MS) - since);
      since = null;
    }
    function noticed() {
      const now = performance.now();
      settle(now);
      lastActive = now;
      if (engaged()) since = now;
    }
    function measureScroll() {
      const page = document.documentElement;
      const seen = (window.scrollY + window.innerHeight) / Math.max(page.scrollHeight, 1);
      deepest = Math.max(deepest, Math.min(100, Math.round(100 * seen)));
    }
    function restart(newPath) {
      path = newPath;
      engagedMs = 0;
      since = null;
      deepest = 0;
      reported = false;
      noticed();
      measureScroll();
    }
    function report() {
      settle(performance.now());
      if (reported || engagedMs < 1 || !api.allows("analytics")) return;
      reported = true;
      const body = JSON.stringify({
        engagement: { page: path, ms: Math.round(engagedMs), scroll: deepest },
      });
      // A beacon outlives the page; a string is sent as text/plain, which the server takes.
      if (!(navigator.sendBeacon && navigator.sendBeacon(prefix + "/event", body))) {
        fetch(prefix + "/event", {
          method: "POST",
          credentials: "same-origin",
          keepalive: true,
          headers: { "Content-Type": "application/json" },
          body,
        }).catch(() => {});
      }
    }

    for (const type of ACTIVITY) {
      window.addEventListener(type, noticed, { passive: true, capture: true });
    }
    window.addEventListener("scroll", measureScroll, { passive: true });
    window.addEventListener("focus", noticed);
    window.addEventListener("blur", () => settle(performance.now()));
    window.addEventListener("consentkit:change", noticed);
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "hidden") report();
      else noticed();
    });
    window.addEventListener("pagehide", report);
    restart(location.pathname);
    return { report, restart };
  }

  // banner.js defines window.consentkit; deferred scripts run in order, but a page may
  // load this one first, so wait for the document if the banner is not there yet.
  if (window.consentkit && window.consentkit.allows) start(window.consentkit);
  else {
    document.addEventListener("DOMContentLoaded", () => {
      if (window.consentkit && window.consentkit.allows) start(window.consentkit);
    });
  }
})();
