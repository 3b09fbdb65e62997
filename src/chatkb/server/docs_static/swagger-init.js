// Starts Swagger UI on the element that names the OpenAPI document. A file, not an inline
// script, so /docs runs under a Content-Security-Policy that allows scripts from 'self' only.
"use strict";
const element = document.getElementById("swagger-ui");
window.ui = SwaggerUIBundle({
  url: element.dataset.openapiUrl,
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  validatorUrl: null, // the default badge is an image from outside: nothing leaves the server
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
