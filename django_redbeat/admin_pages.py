"""The periodic task admin's own pages, beside Django's: the schedule's status and the form's
live preview (``admin:django_redbeat_periodictask_status`` and ``..._preview``)."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.urls import path

from django_redbeat.admin_preview import preview
from django_redbeat.admin_status import status_page


class RedBeatPages:
    """A ModelAdmin mixin: its URLs come before Django's, whose ``<object_id>/`` takes any path."""

    def get_urls(self) -> list[Any]:
        name = f"{self.opts.app_label}_{self.opts.model_name}"  # type: ignore[attr-defined]
        view = self.admin_site.admin_view  # type: ignore[attr-defined]  # staff only
        return [
            path("status/", view(partial(status_page, self)), name=f"{name}_status"),
            path("preview/", view(partial(preview, self)), name=f"{name}_preview"),
            *super().get_urls(),  # type: ignore[misc]
        ]
