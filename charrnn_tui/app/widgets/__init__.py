"""The panes of the main screen and the widgets they draw with (one widget per file)."""
