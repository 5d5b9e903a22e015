"""Files meant to be copied into pipeline projects, not imported from Glasspane (see README.md here)."""
