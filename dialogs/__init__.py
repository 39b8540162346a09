"""The conversation of codesign-bot as a transport-neutral state machine.

Events come in (a command, some text, a button press), replies go out as template keys
with their data; nothing here knows about Telegram, the database or the web.
"""
