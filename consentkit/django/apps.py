"""The Django app that brings the ``consentkit`` template tag library."""

from __future__ import annotations

from django.apps import AppConfig


class ConsentkitConfig(AppConfig):
    name = "consentkit.django"
    label = "consentkit"
    verbose_name = "consentkit"
