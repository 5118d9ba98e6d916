// /api/docs: Swagger UI drawing the API's description. A script file, not inline code:
// the CSP (dashboard/headers.py) allows scripts from this origin only.
/* global SwaggerUIBundle */
const root = document.getElementById("swagger-ui");
window.ui = SwaggerUIBundle({
  url: root.dataset.url,
  domNode: root,
  deepLinking: true,
  // No badge asking a validator elsewhere: nothing outside this origin is reached.
  validatorUrl: null,
  tryItOutEnabled: false,
});
