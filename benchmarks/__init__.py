"""Side-by-side measurements: our code and a named anchor, in one run, as ratios.

Absolute times drift between machines; the ratio to an anchor measured in the
same process run does not (much).  Nothing here asserts a time: the runner
prints a Markdown table, and targets are read by people.
"""
