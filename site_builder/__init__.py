"""Static site builder (markdown-it-py + Jinja2); built in a later issue."""
