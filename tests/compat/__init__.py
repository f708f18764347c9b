"""celery-redbeat's own test suite, run against django_redbeat (``make compat``)."""
