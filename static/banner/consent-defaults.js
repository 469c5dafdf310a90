/* consentkit's Consent Mode defaults. Put it first in <head>, before Google's tag snippet:
     <script src="/consentkit/consent-defaults.js"></script>
   Synchronous and external on purpose: it runs before any tag, under a strict CSP. It sends
   gtag('consent', 'default', ...) (all denied, or a region's defaults) and, for a returning
   visitor, gtag('consent', 'update', ...) from the decision cookie; banner.js then sends
   only the updates of later decisions. */
(function () {
  "use strict";

  const site = /*CK_SITE*/{};
  const options = site.consent_mode || { regions: {} };
  // The server writes its policy version here: a decision under another one is no decision.
  const POLICY_VERSION = "%CK_POLICY%";

  window.dataLayer = window.dataLayer || [];
  // As Google's own gtag: tags look for an arguments object, not an array.
  function gtag() {
    window.dataLayer.push(arguments);
  }
  if (typeof window.gtag !== "function") window.gtag = gtag;

  function signals(granted) {
    const analytics = granted.includes("analytics") ? "granted" : "denied";
    const marketing = granted.includes("marketing") ? "granted" : "denied";
    return {
      analytics_storage: analytics,
      ad_storage: marketing,
      ad_user_data: marketing,
      ad_personalization: marketing,
    };
  }

  function withWait(command) {
    if (options.wait_for_update) command.wait_for_update = options.wait_for_update;
    return command;
  }

  // Google applies the most specific region's default, whatever the order.
  gtag("consent", "default", withWait(signals([])));
  for (const [region, granted] of Object.entries(options.regions)) {
    gtag("consent", "default", withWait({ ...signals(granted), region: [region] }));
  }
  if (options.ads_data_redaction) gtag("set", "ads_data_redaction", true);
  if (options.url_passthrough) gtag("set", "url_passthrough", true);

  function grantedByCookie() {
    const match = document.cookie.match(/(?:^|;\s*)consentkit="?([^;"]*)/);
    if (!match) return null;
    const fields = match[1].split(".").slice(0, -2).join(".").split("|");
    if (fields.length < 3) return null;
    if (POLICY_VERSION[0] !== "%" && fields[0] !== POLICY_VERSION) return null;
    return fields[1].split("+");
  }

  const granted = grantedByCookie();
  if (granted) gtag("consent", "update", signals(granted));
  // banner.js sends neither again.
  window.consentkit = window.consentkit || { defaults: granted ? "update" : "default" };
})();
