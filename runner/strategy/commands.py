"""`runner validate`, `runner schema`, `runner docs`: the strategy language on the command line.

Exit codes: 0 every file valid (warnings allowed unless --strict), 1 any invalid file,
2 usage errors (a path that does not exist, no files to check). Imports of the loader
happen inside the handlers so building the parser stays cheap.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from runner.strategy.fileset import DEFAULT_GLOB

if TYPE_CHECKING:
    from runner.strategy.fileset import FileSet

EXIT_OK: Final = 0
EXIT_FINDINGS: Final = 1
EXIT_USAGE: Final = 2


def register(subparsers: Any) -> None:
    validate = subparsers.add_parser(
        "validate", help="check strategy files",
        description="Check strategy files against the schema and the semantic rules.")
    validate.add_argument("files", nargs="*", type=Path, metavar="FILE",
                          help=f"strategy files (default: {DEFAULT_GLOB})")
    validate.add_argument("--format", choices=("text", "json"), default="text",
                          help="output format (default: text)")
    validate.add_argument("--strict", action="store_true",
                          help="treat warnings as errors for the exit code")
    validate.set_defaults(handler=run_validate)

    schema = subparsers.add_parser(
        "schema", help="print the path of the strategy JSON Schema (the installed copy)")
    schema.set_defaults(handler=run_schema)

    docs = subparsers.add_parser("docs", help="print the strategy key reference (Markdown)")
    docs.set_defaults(handler=run_docs)


def _files(args: argparse.Namespace) -> FileSet | None:
    """The named files and the profiles beside them (`runner.strategy.fileset`)."""
    from runner.strategy.fileset import gather

    missing = [path for path in args.files if not path.is_file()]
    for path in missing:
        print(f"runner validate: {path}: no such file", file=sys.stderr)
    if missing:
        return None
    found = gather(args.files)
    if not found.named:
        print(f"runner validate: no files match {DEFAULT_GLOB}; name the files to check",
              file=sys.stderr)
        return None
    return found


def run_validate(args: argparse.Namespace) -> int:
    """Validate the files; print one line per problem and a summary."""
    file_set = _files(args)
    if file_set is None:
        return EXIT_USAGE
    from runner.strategy.diagnostics import render_json, summary_line
    from runner.strategy.fileset import load_file_set

    result = load_file_set(file_set)
    failed = list(result.failed_files)
    if args.strict:
        failed = list(dict.fromkeys([*failed, *(item.file for item in result.diagnostics)]))
    # The files counted: those named, and a profiles file beside them only when it failed.
    files = [*file_set.named, *(path for path in file_set.companions if path in failed)]
    if args.format == "json":
        print(render_json(files, failed, result.diagnostics))
    else:
        for diagnostic in result.diagnostics:
            print(diagnostic.render())
        if file_set.companions:
            print("loaded with the profiles beside them: "
                  + ", ".join(str(path) for path in file_set.companions))
        print(summary_line(len(dict.fromkeys(files)), len(failed), result.diagnostics))
    return EXIT_FINDINGS if failed else EXIT_OK


def run_schema(_args: argparse.Namespace) -> int:
    from runner.strategy.schema import schema_resource

    print(schema_resource())
    return EXIT_OK


def run_docs(_args: argparse.Namespace) -> int:
    from runner.strategy.reference import render_reference

    sys.stdout.write(render_reference())
    return EXIT_OK
