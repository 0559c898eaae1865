"""The bookmarks app: its models, views, admin, templates and static files."""
