"""Budget maths for codesign-bot: the council's allocation formula and the pricing of choices.

Pure Python. Money is integer pence (or Decimal while calculating), never float.
"""
