"""The Textual app: its screens, panes, views, dialogs, keys and messages."""
