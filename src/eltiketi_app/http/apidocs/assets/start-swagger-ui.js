// Starts Swagger UI on the page's #swagger-ui element, for the OpenAPI document its
// data-spec-url names. A file of its own (not an inline <script>) so the page's
// Content-Security-Policy can allow scripts from 'self' only.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    // No badge from validator.swagger.io: the page must work offline and call no one.
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
})();
