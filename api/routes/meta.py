from __future__ import annotations

import json

from flask import current_app, render_template_string, url_for

from ipledge.api.openapi import build_spec, operation
from ipledge.api.problems import csp_nonce
from ipledge.api.routes import bp, json_response

DOCS_HTML = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>ipledge API</title>
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <link rel="stylesheet" href="{{ css }}">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{{ js }}"></script>
  <script nonce="{{ nonce }}">
    window.ui = SwaggerUIBundle({
      url: "{{ spec }}", dom_id: "#swagger-ui", deepLinking: true,
      validatorUrl: null, tryItOutEnabled: false, persistAuthorization: false
    });
  </script>
</body>
</html>
"""


@bp.get("/openapi.json")
@operation("GET", "/v1/openapi.json", "This OpenAPI 3.1 document", tags=["service"], auth=False,
           responses={200: ({"application/json": {"type": "object"}}, "OpenAPI 3.1 document")})
def openapi_json():
    spec = current_app.extensions.get("ipledge_openapi")
    if spec is None:
        spec = json.dumps(build_spec(current_app.extensions["ipledge_version"],
                                     max_paths=current_app.config.get("IPLEDGE_MAX_PATHS")))
        current_app.extensions["ipledge_openapi"] = spec
    return json_response(spec)


@bp.get("/docs")
@operation("GET", "/v1/docs", "Interactive API documentation (Swagger UI, served offline)", tags=["service"],
           auth=False, responses={200: ({"text/html": {"type": "string"}}, "HTML page")})
def docs():
    return render_template_string(
        DOCS_HTML,
        css=url_for("static", filename="swagger-ui/swagger-ui.css"),
        js=url_for("static", filename="swagger-ui/swagger-ui-bundle.js"),
        spec=url_for("v1.openapi_json"),
        nonce=csp_nonce(),  # the inline script runs under the page's Content-Security-Policy
    )
