"""The worker way in: the embedded drainer, `baton worker`, the periodic reconcile."""
