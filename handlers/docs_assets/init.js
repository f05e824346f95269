// Swagger UI on the document this server generates; no external requests.
window.ui = SwaggerUIBundle({
  url: "/docs/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout",
  validatorUrl: null,
  tryItOutEnabled: true,
  // Operations listed collapsed: expanding every one at load kept the browser busy for minutes.
  docExpansion: "list",
  apisSorter: "alpha",
  operationsSorter: "alpha",
});
