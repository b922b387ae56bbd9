"""Full-screen inspection views over the main screen: one ViewScreen subclass per file."""
