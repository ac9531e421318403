"""The process towards whatever supervises it: systemd's notifications (READY, WATCHDOG,
STOPPING) and the heartbeat file a container's health check reads. The composition root builds
it and hands it to the loop, which calls it; no other layer knows it."""
