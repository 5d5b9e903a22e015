"""Named sections of the dashboard's pages: a page composes them, each section reads and shows one thing."""
