"""The load benchmark: gunicorn serving the app, wrk driving it, figures as ratios to a bare endpoint.

``python -m bench`` (or ``bench/run.sh``) runs it; ``bench/README.md`` explains the workloads, the
targets and how to add a workload.
"""
