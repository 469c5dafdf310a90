/*! consentkit privacy pages: shows the controls that need JavaScript (they stay hidden
   without it, where the forms do the same), and shows a choice made in the banner's
   preferences at once by reloading the page. */
(function () {
  "use strict";

  document.querySelectorAll("[data-ck-js]").forEach((element) => {
    element.hidden = false;
  });

  // The history and the current choice are the server's: ask it again after a decision.
  window.addEventListener("consentkit:change", () => window.location.reload());
})();
