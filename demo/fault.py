"""Change the faults of a running simulator.

    python -m demo.fault --port 9101 set reviews-v2:ratings=0.3:503
    python -m demo.fault --port 9101 clear [reviews-v2:ratings]
    python -m demo.fault --port 9101 list

Exit status: 0 done, 1 the simulator cannot be reached or there was nothing to clear,
2 a bad spec.
"""

from __future__ import annotations

import argparse
import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote

ACTIONS = ("set", "clear", "list")


class ClientError(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="the simulator's address")
    parser.add_argument("--port", type=int, default=9101, help="the simulator's port")
    parser.add_argument("action", choices=ACTIONS, help="set a fault, clear faults, or list them")
    parser.add_argument(
        "target", nargs="?", default=None,
        help="for set: SRC:DST=RATE[:CODE[:FLAGS]] or NODE=RATE[:CODE[:FLAGS]], e.g. "
        "reviews-v2:ratings=0.3:503; for clear: SRC:DST or NODE (all faults if omitted)",
    )


def _call(base: str, method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)
    except urllib.error.HTTPError as e:
        try:
            message = json.load(e).get("error", e.reason)
        except ValueError:
            message = e.reason
        raise ClientError(str(message), 2 if e.code == 400 else 1) from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise ClientError(
            f"cannot reach the simulator at {base} ({reason}); start it with python -m demo", 1
        ) from None


def _describe(fault: dict[str, Any]) -> str:
    return f"{fault['spec']}  (edges: {', '.join(fault['edges'])})"


def run(host: str, port: int, action: str, target: str | None) -> str:
    """Do one action against the simulator; the text to print. Raises ClientError."""
    base = f"http://{host}:{port}"
    if action == "set":
        if not target:
            raise ClientError("set needs a spec, e.g. reviews-v2:ratings=0.3:503", 2)
        return "set " + _describe(_call(base, "POST", "/faults", {"spec": target}))
    if action == "clear":
        query = f"?edge={quote(target, safe=':')}" if target else ""
        cleared = _call(base, "DELETE", "/faults" + query)["cleared"]
        if not cleared:
            return "no faults to clear"
        return "\n".join("cleared " + _describe(f) for f in cleared)
    if target:
        raise ClientError("list takes no target", 2)
    faults = _call(base, "GET", "/faults")
    return "\n".join(_describe(f) for f in faults) or "no faults"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m demo.fault", description="Change the faults of a running simulator."
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        print(run(args.host, args.port, args.action, args.target))
    except ClientError as e:
        parser.exit(e.status, f"{parser.prog}: error: {e}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
