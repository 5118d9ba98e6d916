"""`manage.py mesh_fault`: the same as `python -m demo.fault`."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from demo import fault


class Command(BaseCommand):
    help = "Set, clear or list the faults of a running mesh simulator."

    def add_arguments(self, parser: ArgumentParser) -> None:
        fault.add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            text = fault.run(options["host"], options["port"], options["action"],
                             options["target"])
        except fault.ClientError as e:
            raise CommandError(str(e), returncode=e.status) from None
        self.stdout.write(text)
