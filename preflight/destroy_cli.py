"""`preflight destroy --stack S [--backend URL|temp]`: `pulumi destroy` of the stack on its backend (the user's, as
`preflight up` uses it). Exit 0 destroyed, 2 usage error, 3 the destroy failed (the engine's words on stderr)."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.text import Text

EXIT_OK, EXIT_USAGE, EXIT_FAILED = 0, 2, 3


def add_destroy_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("destroy", help="`pulumi destroy` of a stack on your backend (what `up` deployed)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="examples:\n  preflight destroy --stack cluster\n"
                              "  preflight destroy --stack cluster --backend file://$PWD/.pulumi-state")
    p.add_argument("--stack", help="stack name (`stack`, `org/stack` or `org/project/stack`); default: $PULUMI_STACK, "
                                   "else the stack `pulumi stack select` chose")
    p.add_argument("--project-dir", default=None, help="the Pulumi project (default: nearest Pulumi.yaml)")
    p.add_argument("--backend", metavar="URL", help="Pulumi backend (default: the one you are logged into)")
    p.set_defaults(func=cmd_destroy)


def cmd_destroy(args: argparse.Namespace) -> int:
    from preflight.cli import UsageError, print_error, resolve_target
    from preflight.engine.pulumi_cli import PulumiCliError, find_pulumi_cli, resolve_backend, run_pulumi_destroy

    console = Console(stderr=True)
    try:
        resolve_target(args)
        if find_pulumi_cli() is None:
            raise UsageError("no pulumi CLI found (run `make pulumi-cli` or put pulumi on PATH)")
        if args.backend == "temp":
            raise UsageError("--backend temp: a throw-away backend holds no deployed stack to destroy")
        backend = resolve_backend(Path(args.project_dir), args.backend)
    except (UsageError, PulumiCliError) as exc:
        print_error(console, exc)
        return EXIT_USAGE
    try:
        result = run_pulumi_destroy(args.project_dir, args.stack_ref, backend=backend)
    except PulumiCliError as exc:
        print_error(console, exc)
        return EXIT_USAGE
    if result.errors:
        console.print(Text.assemble(("destroy failed", "bold red"), f" (exit {EXIT_FAILED}): stack {args.stack_ref} on "
                                    f"{backend.display()}\n", "\n".join(result.errors)[-2000:]), highlight=False)
        return EXIT_FAILED
    console.print(Text.assemble(("destroyed", "bold green"), f": stack {args.stack_ref} on {backend.display()}"),
                  highlight=False)
    return EXIT_OK
