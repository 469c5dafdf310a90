"""A small demo site: a few pages with the banner, served by uvicorn on SQLite."""
