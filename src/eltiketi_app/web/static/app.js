/* elTiketi shop: small enhancements; every page works without this file.
   - the error summary takes focus, so screen readers hear it first;
   - the hold countdown, corrected for the browser's clock (the server sends its time),
     announced to screen readers only at 5 minutes and 1 minute (as pretix does);
   - a form is sent once, whatever the number of clicks (the server is idempotent too);
   - the card form of the hold page (Stripe's Payment Element, payment_intent mode): Stripe.js
     confirms the payment in the browser, then the page goes to the return URL, where the
     server asks Stripe what happened (paid, declined, still processing) and says so. */
(function () {
  "use strict";

  function focusErrorSummary() {
    var summary = document.querySelector(".error-summary");
    if (summary) { summary.focus(); }
  }

  function startCountdown(box) {
    var expires = Number(box.getAttribute("data-expires"));
    var offset = Number(box.getAttribute("data-server-now")) - Date.now();
    var clock = box.querySelector(".clock");
    var live = document.getElementById(box.getAttribute("data-live"));
    var announced = {};
    var messages = {
      300: box.getAttribute("data-msg-5"),
      60: box.getAttribute("data-msg-1")
    };
    function pad(n) { return n < 10 ? "0" + n : String(n); }
    function tick() {
      var left = Math.max(0, Math.round((expires - (Date.now() + offset)) / 1000));
      clock.textContent = Math.floor(left / 60) + ":" + pad(left % 60);
      if (left <= 60) { box.classList.add("soon"); }
      [300, 60].forEach(function (mark) {
        if (left <= mark && left > mark - 30 && !announced[mark] && live) {
          announced[mark] = true;
          live.textContent = messages[mark];
        }
        if (left <= mark) { announced[mark] = true; }
      });
      if (left <= 0) {
        window.clearInterval(timer);
        /* the sweeper gives the tickets back within seconds; the page then says so */
        window.setTimeout(function () { window.location.reload(); }, 1500);
      }
    }
    var initial = Math.round((expires - (Date.now() + offset)) / 1000);
    [300, 60].forEach(function (mark) { if (initial <= mark) { announced[mark] = true; } });
    var timer = window.setInterval(tick, 1000);
    tick();
  }

  function sendOnce(form) {
    form.addEventListener("submit", function (event) {
      if (form.getAttribute("data-sent") === "true") {
        event.preventDefault();
        return;
      }
      form.setAttribute("data-sent", "true");
      var button = event.submitter || form.querySelector("button[type=submit]");
      if (button) { button.setAttribute("aria-disabled", "true"); }
    });
  }

  function startCardForm(form) {
    var errors = document.getElementById("card-errors");
    var button = document.getElementById("card-submit");
    var back = new URL(form.getAttribute("data-return-url"), window.location.href).href;
    function busy(on) {
      if (on) { button.setAttribute("aria-disabled", "true"); } else { button.removeAttribute("aria-disabled"); }
    }
    if (typeof window.Stripe !== "function") {
      errors.textContent = form.getAttribute("data-msg-unavailable");
      button.disabled = true;
      return;
    }
    var stripe = window.Stripe(form.getAttribute("data-stripe-key"));
    var elements = stripe.elements({
      clientSecret: form.getAttribute("data-client-secret"),
      locale: form.getAttribute("data-locale")
    });
    elements.create("payment").mount("#payment-element");
    var sending = false;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (sending) { return; }
      sending = true;
      busy(true);
      errors.textContent = "";
      stripe.confirmPayment({ elements: elements, confirmParams: { return_url: back }, redirect: "if_required" })
        .then(function (result) {
          if (result.error && result.error.type === "validation_error") {
            /* a field is incomplete: nothing was sent, the buyer corrects it here */
            errors.textContent = result.error.message || "";
            sending = false;
            busy(false);
            return;
          }
          /* paid, declined or unsure: the server asks Stripe and shows which */
          window.location.assign(back);
        }, function () { window.location.assign(back); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    focusErrorSummary();
    Array.prototype.forEach.call(document.querySelectorAll("[data-countdown]"), startCountdown);
    Array.prototype.forEach.call(document.querySelectorAll("form[data-once]"), sendOnce);
    var card = document.getElementById("card-form");
    if (card) { startCardForm(card); }
  });
})();
