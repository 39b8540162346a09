"""Support ideas: the council's catalogue, its spending rules, and goal-based suggestions.

Pure Python (no transport, storage or templates). The conversation calls these functions:
`load_catalogue`, `load_spending_rules`, `understand_goal`, `suggest`, `check_idea`,
`check_item`. Sentences in results are English; the dialog layer renders its own templates.
"""

from __future__ import annotations

from dialogs.ideas.catalogue import (
    Catalogue,
    CatalogueError,
    CatalogueItem,
    Concept,
    ItemKind,
    load_catalogue,
)
from dialogs.ideas.rules import (
    RuleVerdict,
    SpendingRule,
    SpendingRules,
    Verdict,
    check_idea,
    check_item,
    load_spending_rules,
)
from dialogs.ideas.suggest import (
    GoalMatch,
    GoalReading,
    Suggestion,
    Suggestions,
    Why,
    suggest,
    understand_goal,
)

__all__ = [
    "Catalogue",
    "CatalogueError",
    "CatalogueItem",
    "Concept",
    "GoalMatch",
    "GoalReading",
    "ItemKind",
    "RuleVerdict",
    "SpendingRule",
    "SpendingRules",
    "Suggestion",
    "Suggestions",
    "Verdict",
    "Why",
    "check_idea",
    "check_item",
    "load_catalogue",
    "load_spending_rules",
    "suggest",
    "understand_goal",
]
