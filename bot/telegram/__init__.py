"""The aiogram runtime: dispatcher factory, handlers, middlewares and bot sessions."""
