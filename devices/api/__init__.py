"""The automation API, /api/v1/: Django REST framework views at the pages' level.

Like the pages, it calls the outbox's public API (devices.outbox), the inventory
and the audit log; it never calls the upstream client. Modules: auth (bearer
tokens, scopes capped by the role), problems (RFC 9457 errors), idempotency
(Idempotency-Key on POSTs), serializers, views (devices, the budget), actions
(actions, remediation, the audit log), bulk (bulk jobs), schema (the OpenAPI
document and its viewers), urls.
"""
