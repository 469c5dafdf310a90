/*! consentkit privacy pages: shows the controls that need JavaScript (they stay hidden
   without it, where the forms do the same), and after a choice made in the banner's
   preferences shows it at once: the page is reloaded and the focus put on "Your choice now",
   so that a keyboard or screen-reader user lands where the new choice is said. */
(function () {
  "use strict";

  const CHOICE = "ck-choice"; // the id of the heading of the current choice

  document.querySelectorAll("[data-ck-js]").forEach((element) => {
    element.hidden = false;
  });

  const choiceHeading = document.getElementById(CHOICE);
  if (!choiceHeading) return; // the cookie policy: nothing on it depends on the choice

  if (window.location.hash === "#" + CHOICE) {
    choiceHeading.tabIndex = -1;
    choiceHeading.focus();
    history.replaceState(null, "", window.location.pathname + window.location.search);
  }

  // The history and the current choice are the server's: ask it again after a decision.
  window.addEventListener("consentkit:change", () => {
    window.location.hash = CHOICE;
    window.location.reload();
  });
})();
