/*! consentkit events: goals (window.consentkit.track) and single-page apps' page views.
   <script src="/consentkit/events.js" defer></script> after the banner's tag; with
   data-consentkit-spa on either tag, history navigations count as page views. Kept out of
   banner.js so that the banner stays within its 6 KB budget for sites that need neither. */
(function () {
  "use strict";

  const thisScript = document.currentScript;
  const prefix = thisScript
    ? thisScript.src.split(/[?#]/)[0].replace(/\/[^/]*$/, "")
    : "/consentkit";
  const spa =
    (thisScript && thisScript.hasAttribute("data-consentkit-spa")) ||
    document.querySelector("script[data-consentkit-spa]") !== null;

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
    if (!spa) return;
    // The first page was counted by the server as it sent the HTML: only later navigations
    // are sent, as their path (the query string never leaves the page).
    let countedPath = location.pathname;
    function navigated() {
      if (location.pathname === countedPath) return; // a new query or hash: the same page
      countedPath = location.pathname;
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

  // banner.js defines window.consentkit; deferred scripts run in order, but a page may
  // load this one first, so wait for the document if the banner is not there yet.
  if (window.consentkit && window.consentkit.allows) start(window.consentkit);
  else {
    document.addEventListener("DOMContentLoaded", () => {
      if (window.consentkit && window.consentkit.allows) start(window.consentkit);
    });
  }
})();
