"""`manage.py simulate_mesh`: the same as `python -m demo`."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from demo import cli


class Command(BaseCommand):
    help = "Serve Istio metrics for a simulated mesh (Bookinfo, Online Boutique)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        cli.add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            server = cli.build(options)
        except cli.DemoError as e:
            raise CommandError(str(e), returncode=2) from None
        cli.serve(server, options)
