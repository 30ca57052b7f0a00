"""Prometheus metrics of the audit writer; gauges sum the live workers in multiprocess mode."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

QUEUE_DEPTH = Gauge(
    "audit_queue_depth", "Audit entries accepted and not yet written", multiprocess_mode="livesum"
)
WRITTEN = Counter("audit_entries_written", "Audit entries written to the database")
RETRIED = Counter("audit_write_retries", "Audit batch writes retried because the database was unavailable")
FAILED = Counter("audit_entries_failed", "Audit entries accepted by log_async that could not be written")
SYNC_FALLBACKS = Counter(
    "audit_sync_fallbacks", "log_async calls written synchronously because the queue was full or closed"
)
