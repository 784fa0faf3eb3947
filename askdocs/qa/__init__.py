"""Question answering: sanitise -> embed -> search -> select -> generate. Shared by the service and the CLI."""
