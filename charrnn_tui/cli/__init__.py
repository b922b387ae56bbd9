"""The command line: `charrnn-tui` and its subcommands, their arguments, output and exit codes."""
