/* A stand-in for Stripe.js v3, test-only: the small part of its API the elTiketi hold page
 * uses, so a real browser can pay a PaymentIntent on localstripe.
 *
 *   Stripe(publishableKey)
 *     .elements({clientSecret, locale})   -> elements
 *        .create("payment")               -> an element with mount(selectorOrNode)
 *     .confirmPayment({elements, confirmParams: {return_url}, redirect: "if_required"})
 *        -> Promise<{paymentIntent} | {error: {type, code, message}}>
 *
 * Unlike the real Payment Element (an iframe from js.stripe.com), the card fields are plain
 * inputs in the page, with labels. Confirming posts them, with the publishable key and the
 * client secret, to the stand-in server that served this file, as Stripe.js posts to
 * api.stripe.com; that server confirms the PaymentIntent on localstripe with the secret key
 * (localstripe itself accepts publishable keys on a few routes only). */
(function () {
  "use strict";
  var BASE = (function () {
    var src = document.currentScript && document.currentScript.src;
    return src ? src.replace(/\/v3\/?$/, "") : "";
  })();

  var FIELDS = [
    { name: "number", label: "Card number", autocomplete: "cc-number", inputmode: "numeric", placeholder: "1234 1234 1234 1234" },
    { name: "expiry", label: "Expiry date (MM / YY)", autocomplete: "cc-exp", inputmode: "numeric", placeholder: "MM / YY" },
    { name: "cvc", label: "Security code", autocomplete: "cc-csc", inputmode: "numeric", placeholder: "CVC" }
  ];

  function PaymentElement() { this.inputs = {}; }

  PaymentElement.prototype.mount = function (target) {
    var root = typeof target === "string" ? document.querySelector(target) : target;
    var self = this;
    FIELDS.forEach(function (field) {
      var box = document.createElement("div");
      box.className = "field";
      var id = "stand-in-card-" + field.name;
      var label = document.createElement("label");
      label.setAttribute("for", id);
      label.textContent = field.label;
      var input = document.createElement("input");
      input.type = "text";
      input.id = id;
      input.name = "card-" + field.name;
      input.setAttribute("autocomplete", field.autocomplete);
      input.setAttribute("inputmode", field.inputmode);
      input.setAttribute("placeholder", field.placeholder);
      box.appendChild(label);
      box.appendChild(input);
      root.appendChild(box);
      self.inputs[field.name] = input;
    });
  };

  PaymentElement.prototype.values = function () {
    var digits = function (value) { return value.replace(/\D/g, ""); };
    var expiry = digits(this.inputs.expiry.value);
    return {
      number: digits(this.inputs.number.value),
      exp_month: expiry.slice(0, 2),
      exp_year: expiry.slice(2),
      cvc: digits(this.inputs.cvc.value)
    };
  };

  function incomplete(card) {
    if (card.number.length < 16) { return "Your card number is incomplete."; }
    if (card.exp_month.length !== 2 || card.exp_year.length < 2) { return "Your card's expiry date is incomplete."; }
    if (card.cvc.length < 3) { return "Your card's security code is incomplete."; }
    return null;
  }

  window.Stripe = function (publishableKey) {
    return {
      elements: function (options) {
        return {
          clientSecret: options && options.clientSecret,
          element: null,
          create: function () { this.element = new PaymentElement(); return this.element; }
        };
      },
      confirmPayment: function (args) {
        var elements = args.elements;
        var card = elements.element.values();
        var problem = incomplete(card);
        if (problem) {
          return Promise.resolve({ error: { type: "validation_error", message: problem } });
        }
        var secret = elements.clientSecret;
        var intent = secret.split("_secret_")[0];
        var body = new URLSearchParams();
        body.set("key", publishableKey);
        body.set("client_secret", secret);
        body.set("payment_method_data[type]", "card");
        Object.keys(card).forEach(function (name) {
          body.set("payment_method_data[card][" + name + "]", card[name]);
        });
        return fetch(BASE + "/v1/payment_intents/" + intent + "/confirm", { method: "POST", body: body })
          .then(function (response) { return response.json(); })
          .then(function (answer) {
            if (answer.error) { return { error: answer.error }; }
            if (args.redirect !== "if_required" && args.confirmParams && args.confirmParams.return_url) {
              window.location.assign(args.confirmParams.return_url);
            }
            return { paymentIntent: answer };
          });
      }
    };
  };
})();
