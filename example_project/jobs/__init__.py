"""The example's jobs: tasks with visible effects (a log line and a counter in the admin)."""
