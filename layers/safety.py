"""The ДСНС safety notice for a suspected explosive object, in Ukrainian and English.

Source: ДСНС guidance, summarised in ../shared/reference/domain.md. The same text is shown by
the API (`hazard-check`, report creation) and the web UI before a report is submitted.
"""

from __future__ import annotations

EMERGENCY_PHONE = "101"

RULES = {
    "uk": [
        "Не наближайтеся до предмета, не торкайтеся, не переміщуйте його, нічим не накривайте "
        "і нічим не поливайте.",
        "Якщо це безпечно, позначте місце (палиці, тканина, каміння) і попередьте інших людей.",
        "Відійдіть щонайменше на 100 метрів тим самим шляхом, яким прийшли.",
        "Не користуйтеся телефоном чи радіостанцією поблизу предмета: спершу відійдіть.",
        "Зателефонуйте 101 (ДСНС). Повідомлення через застосунок не замінює дзвінка.",
    ],
    "en": [
        "Do not approach, touch or move the object; do not cover it or pour anything on it.",
        "If it is safe to do so, mark the place (sticks, cloth, stones) and warn other people.",
        "Move at least 100 metres away, back along the path you came by.",
        "Do not use a phone or radio near the object: move away first.",
        "Call 101 (State Emergency Service). Reporting in the app does not replace the call.",
    ],
}

TITLE = {
    "uk": "Увага: можливий вибухонебезпечний предмет",
    "en": "Warning: possible explosive object",
}


def safety_notice() -> dict:
    """The notice in both languages, as the API returns it."""
    return {
        "title": dict(TITLE),
        "rules": {lang: list(rules) for lang, rules in RULES.items()},
        "emergency_phone": EMERGENCY_PHONE,
    }
