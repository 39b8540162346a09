"""The aiogram runtime: dispatcher factory, routers, middlewares and bot sessions."""
