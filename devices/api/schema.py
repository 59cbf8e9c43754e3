"""The OpenAPI document and its two viewers, served from the site's own static files.

Swagger UI and Redoc set styles on elements as they draw (Redoc inserts its
stylesheet at run time): their two pages alone allow inline *styles*. Scripts
stay 'self' only everywhere, and every other page keeps the site's policy.
"""

from __future__ import annotations

from csp.decorators import csp_update
from django.contrib.auth.decorators import login_not_required
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

# Redoc runs its search in a worker it makes from a blob: URL.
_VIEWER_CSP = {"style-src": ["'unsafe-inline'"], "worker-src": ["'self'", "blob:"]}

schema = login_not_required(SpectacularAPIView.as_view())
swagger = login_not_required(csp_update(_VIEWER_CSP)(SpectacularSwaggerSplitView.as_view(url_name="api-schema")))
redoc = login_not_required(csp_update(_VIEWER_CSP)(SpectacularRedocView.as_view(url_name="api-schema")))
