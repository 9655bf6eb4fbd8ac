"""The ``ipledge`` command line: :mod:`ipledge.cli.main` wires the commands, one module per command group;
:mod:`ipledge.cli.common` holds what they share (one-line errors, JSON output); ``render*`` draw results
in the terminal (rich)."""
