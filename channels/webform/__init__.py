"""The web form channel: a public form and a JSON endpoint for embedding."""
