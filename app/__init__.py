"""CLAR Studio in the browser: the server, the pages' shared code and the Gradio app (see docs/app.md)."""
