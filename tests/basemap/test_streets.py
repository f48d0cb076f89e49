"""Street names as residents write and type them (basemap.streets)."""

from __future__ import annotations

import pytest

from basemap.streets import address_search_text, latin_of, street_name


@pytest.mark.parametrize(("name", "full", "short", "english"), [
    ("вулиця Шевченка", "вулиця Шевченка", "вул. Шевченка", "Shevchenka Street"),
    ("вул. Шевченка", "вулиця Шевченка", "вул. Шевченка", "Shevchenka Street"),
    ("вул.Шевченка", "вулиця Шевченка", "вул. Шевченка", "Shevchenka Street"),
    ("Вул  Шевченка ", "вулиця Шевченка", "вул. Шевченка", "Shevchenka Street"),
    ("проспект Дмитра Яворницького", "проспект Дмитра Яворницького",
     "просп. Дмитра Яворницького", "Dmytra Yavornytskoho Avenue"),
    ("пр. Дмитра Яворницького", "проспект Дмитра Яворницького",
     "просп. Дмитра Яворницького", "Dmytra Yavornytskoho Avenue"),
    ("провулок Тихий", "провулок Тихий", "пров. Тихий", "Tykhyi Lane"),
    ("бульв. Кучеревського", "бульвар Кучеревського", "бульв. Кучеревського",
     "Kucherevskoho Boulevard"),
    ("Соборна площа", "Соборна площа", "Соборна пл.", "Soborna Square"),
    ("Запорізьке шосе", "Запорізьке шосе", "Запорізьке ш.", "Zaporizke Highway"),
    ("вулиця Січеславська Набережна", "вулиця Січеславська Набережна",
     "вул. Січеславська Набережна", "Sicheslavska Naberezhna Street"),
    ("узвіз Князя Володимира", "узвіз Князя Володимира", "узв. Князя Володимира",
     "Kniazia Volodymyra Descent"),
    ("вулиця В’ячеслава Липинського", "вулиця В'ячеслава Липинського",
     "вул. В'ячеслава Липинського", "Viacheslava Lypynskoho Street"),
    ("Набережна", "Набережна", "Набережна", "Naberezhna"),  # a name, not a type word
    ("Майдан Незалежності", "майдан Незалежності", "майд. Незалежності",
     "Nezalezhnosti Maidan"),
])
def test_names_are_split_into_type_and_core(name, full, short, english):
    parsed = street_name(name)
    assert (parsed.full_uk, parsed.short_uk, parsed.english) == (full, short, english)


@pytest.mark.parametrize(("ukrainian", "latin"), [
    # examples of the table itself (KMU resolution No. 55 of 27.01.2010)
    ("Алушта", "Alushta"), ("Згурський", "Zghurskyi"), ("Розгон", "Rozghon"),
    ("Ґалаґан", "Galagan"), ("Єнакієве", "Yenakiieve"), ("Гаєвич", "Haievych"),
    ("Їжакевич", "Yizhakevych"), ("Кадиївка", "Kadyivka"), ("Йосипівка", "Yosypivka"),
    ("Стрий", "Stryi"), ("Юрій", "Yurii"), ("Крюківка", "Kriukivka"), ("Яготин", "Yahotyn"),
    ("Костянтин", "Kostiantyn"), ("Знам'янка", "Znamianka"), ("Феодосія", "Feodosiia"),
    ("Щербухи", "Shcherbukhy"), ("Гоща", "Hoshcha"), ("Шостка", "Shostka"),
])
def test_latin_follows_the_national_table_of_2010(ukrainian, latin):
    assert latin_of(ukrainian) == latin


@pytest.mark.parametrize("typed", [
    "вулиця шевченка 12", "вул. шевченка 12", "вул шевченка 12а", "шевченка 12-а",
    "Shevchenka Street 12", "shevchenka st 12", "vulytsia shevchenka 12", "vul shevchenka",
])
def test_search_text_holds_every_way_residents_type_an_address(typed):
    text = address_search_text(street_name("вул. Шевченка"), "12-а")
    assert all(word in text for word in typed.lower().replace(",", " ").split())


@pytest.mark.parametrize("typed", ["просп. яворницького 1", "пр яворницького",
                                   "проспект дмитра яворницького", "yavornytskoho avenue",
                                   "prospekt dmytra yavornytskoho", "prosp yavornytskoho"])
def test_every_abbreviation_of_the_type_word_is_found(typed):
    text = address_search_text(street_name("проспект Дмитра Яворницького"), "1")
    assert all(word in text for word in typed.split())
