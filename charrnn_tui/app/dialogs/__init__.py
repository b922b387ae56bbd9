"""Modal dialogs: the re-initialise confirmation and the resume picker."""
