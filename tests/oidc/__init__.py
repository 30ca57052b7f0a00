"""Test support for OpenID Connect federation: a real provider (node ``oidc-provider``) and a browser."""
