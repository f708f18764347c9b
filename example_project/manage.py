#!/usr/bin/env python
"""The example project's manage.py (settings come from the environment and .env)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# the repository's root, for support/ (the settings every project of the repository shares)
sys.path.append(str(Path(__file__).resolve().parent.parent))

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
