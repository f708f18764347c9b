"""The example project (``make demo``); a package only so that the system tests import demo.py."""
