"""The object behind one of Flask's context proxies, typed.

Flask annotates ``current_app`` as a :class:`~flask.Flask` and ``request_ctx`` as a
``RequestContext``, so a type checker does not see the :class:`~werkzeug.local.LocalProxy` they
are at run time, nor its ``_get_current_object``. Code that keeps the app (for a thread, or past
the request) needs the real object: this says once what the proxy is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar, cast

if TYPE_CHECKING:
    from werkzeug.local import LocalProxy

__all__ = ["unproxied"]

T = TypeVar("T")


def unproxied(proxy: T) -> T:
    """The object ``proxy`` stands for in this context (``RuntimeError`` outside one, as the proxy)."""
    return cast("LocalProxy[T]", proxy)._get_current_object()
