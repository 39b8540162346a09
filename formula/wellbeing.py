"""The nine wellbeing areas of the Care Act 2014 (s.1) and the ten eligibility outcomes.

The areas have no ranking; their order here is the order of the Act.
"""

from __future__ import annotations

from enum import StrEnum


class WellbeingArea(StrEnum):
    PERSONAL_DIGNITY = "personal_dignity"
    HEALTH = "health"  # physical and mental health and emotional wellbeing
    PROTECTION = "protection"  # protection from abuse and neglect
    CONTROL = "control"  # control over day-to-day life
    PARTICIPATION = "participation"  # work, education, training or recreation
    SOCIAL_ECONOMIC = "social_economic"  # social and economic wellbeing
    RELATIONSHIPS = "relationships"  # domestic, family and personal relationships
    ACCOMMODATION = "accommodation"  # suitability of living accommodation
    CONTRIBUTION = "contribution"  # the person's contribution to society


WELLBEING_AREA_NAMES: dict[WellbeingArea, str] = {
    WellbeingArea.PERSONAL_DIGNITY: "personal dignity",
    WellbeingArea.HEALTH: "physical and mental health and emotional wellbeing",
    WellbeingArea.PROTECTION: "protection from abuse and neglect",
    WellbeingArea.CONTROL: "control over day-to-day life",
    WellbeingArea.PARTICIPATION: "participation in work, education, training or recreation",
    WellbeingArea.SOCIAL_ECONOMIC: "social and economic wellbeing",
    WellbeingArea.RELATIONSHIPS: "domestic, family and personal relationships",
    WellbeingArea.ACCOMMODATION: "suitability of living accommodation",
    WellbeingArea.CONTRIBUTION: "the person's contribution to society",
}


class EligibilityOutcome(StrEnum):
    NUTRITION = "nutrition"
    PERSONAL_HYGIENE = "personal_hygiene"
    TOILET_NEEDS = "toilet_needs"
    CLOTHING = "clothing"
    HOME_SAFETY = "home_safety"
    HABITABLE_HOME = "habitable_home"
    RELATIONSHIPS = "relationships"
    WORK_EDUCATION = "work_education"
    COMMUNITY_FACILITIES = "community_facilities"
    CARING_FOR_CHILD = "caring_for_child"


ELIGIBILITY_OUTCOME_NAMES: dict[EligibilityOutcome, str] = {
    EligibilityOutcome.NUTRITION: "managing and maintaining nutrition",
    EligibilityOutcome.PERSONAL_HYGIENE: "maintaining personal hygiene",
    EligibilityOutcome.TOILET_NEEDS: "managing toilet needs",
    EligibilityOutcome.CLOTHING: "being appropriately clothed",
    EligibilityOutcome.HOME_SAFETY: "being able to make use of the home safely",
    EligibilityOutcome.HABITABLE_HOME: "maintaining a habitable home environment",
    EligibilityOutcome.RELATIONSHIPS: "developing and maintaining family or other relationships",
    EligibilityOutcome.WORK_EDUCATION: (
        "accessing and engaging in work, training, education or volunteering"
    ),
    EligibilityOutcome.COMMUNITY_FACILITIES: (
        "making use of necessary facilities or services in the community"
    ),
    EligibilityOutcome.CARING_FOR_CHILD: "carrying out any caring responsibilities for a child",
}
