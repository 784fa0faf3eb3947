"""Question answering: sanitise -> embed -> search -> select -> generate. Shared by the service, CLI and Slack."""
