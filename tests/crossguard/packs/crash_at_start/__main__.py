"""Fails while building the pack, as a pack with a broken import or a bad policy definition would."""

raise RuntimeError("pack is broken: cannot load its controls")
