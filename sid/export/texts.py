"""User-facing texts of the exports, in Dutch (default) and English.

Symbols in the cells (suppressed, no CI, flagged, significant), the labels and
explanations of the workbook, and the plain-language method sheet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SUPPRESSED = "x"
NO_CI = "n.b."
NOT_ASKED = "\u2013"
FLAG = "(!)"
SIGNIFICANT = "*"
KORN_GRAUBARD = "b"

TEXTS: Mapping[str, Mapping[str, str]] = {
    "nl": {
        "percent": "%",
        "mean": "gemiddelde",
        "difference_percent": "verschil",
        "difference_mean": "verschil",
        "ci_low": "{level}%-BI onder",
        "ci_high": "{level}%-BI boven",
        "n": "n",
        "p": "p-waarde",
        "marker": "opm.",
        "significance": "sign.",
        "page_of": "p. &P/&N",
        "chart_sheet": "grafiekdata",
        "notes": "Noten",
        "explain_x": "x: niet getoond, want de ongewogen basis is kleiner dan {below}.",
        "explain_flag": "(!): voorzichtig interpreteren, de ongewogen basis is {below} tot {flag}.",
        "explain_no_ci": "n.b.: geen betrouwbaarheidsinterval te berekenen (te weinig "
                         "variatie in de groep).",
        "explain_sig": "*: significant verschillend van {ref} (p < {alpha}).",
        "explain_sig_diff": "* bij het verschil: significante verandering tussen de golven "
                            "(p < {alpha}).",
        "reference": "referentiegroep",
        "toelichting": "Toelichting",
        "herkomst": "Herkomst van de cijfers",
        "chart_data": "Gegevens voor de grafiek",
        "plus": "afstand tot bovengrens",
        "minus": "afstand tot ondergrens",
        "contents": "Inhoud",
        "table": "Tabel",
        "sheet": "Blad",
        "item": "onderdeel",
        "value": "waarde",
        "file": "bestand",
        "role": "rol",
        "sha256": "sha256",
        "prov_weight": "weegvariabele",
        "prov_weight_text": "gewicht",
        "content_sha256": "sha256 van de inhoud (gegevens, schema 2)",
        "prov_content_note": "De sha256 van de inhoud hangt alleen af van de gegevens en hun "
                             "labels, niet van het moment waarop het bestand geschreven is: twee "
                             "bestanden met dezelfde gegevens hebben dezelfde inhouds-sha256. Werkboeken "
                             "van vóór schema 2 berekenden ze anders: vergelijk alleen binnen "
                             "hetzelfde schema.",
        "prov_version": "versie sid",
        "prov_date": "datum",
        "prov_command": "commando",
        "prov_source": "bron",
        "prov_note": "Controleer een bestand met: sha256sum BESTAND (Linux) of "
                     "certutil -hashfile BESTAND SHA256 (Windows).",
        "role_data": "gegevens",
        "role_codebook": "codeboek",
        "role_spec": "tabellenspecificatie",
        "role_weights": "gewogen bestand (gewichten)",
        "role_unweighted": "ongewogen golf (invoer van de weging)",
        "role_weighting_spec": "wegingsspecificatie",
        "role_margins": "populatiemarges",
        "role_gross": "bruto steekproef",
        "role_origin_rules": "herkomstregels",
    },
    "en": {
        "percent": "%",
        "mean": "mean",
        "difference_percent": "change",
        "difference_mean": "difference",
        "ci_low": "{level}% CI lower",
        "ci_high": "{level}% CI upper",
        "n": "n",
        "p": "p-value",
        "marker": "note",
        "significance": "sig.",
        "page_of": "p. &P/&N",
        "chart_sheet": "chart data",
        "notes": "Notes",
        "explain_x": "x: not shown, the unweighted base is below {below}.",
        "explain_flag": "(!): interpret with care, the unweighted base is {below} to {flag}.",
        "explain_no_ci": "n.b.: no confidence interval can be computed (too little variation "
                         "in the group).",
        "explain_sig": "*: significantly different from {ref} (p < {alpha}).",
        "explain_sig_diff": "* on the difference: significant change between waves "
                            "(p < {alpha}).",
        "reference": "reference group",
        "toelichting": "Method",
        "herkomst": "Provenance",
        "chart_data": "Chart data",
        "plus": "distance to upper bound",
        "minus": "distance to lower bound",
        "contents": "Contents",
        "table": "Table",
        "sheet": "Sheet",
        "item": "item",
        "value": "value",
        "file": "file",
        "role": "role",
        "sha256": "sha256",
        "prov_weight": "weight variable",
        "prov_weight_text": "weight",
        "content_sha256": "sha256 of the content (data, scheme 2)",
        "prov_content_note": "The content sha256 depends only on the data and their labels, "
                             "not on when the file was written: two files with the same data "
                             "have the same content sha256. Books from before scheme 2 computed "
                             "it differently: compare within one scheme only.",
        "prov_version": "sid version",
        "prov_date": "date",
        "prov_command": "command",
        "prov_source": "source",
        "prov_note": "Check a file with: sha256sum FILE (Linux) or "
                     "certutil -hashfile FILE SHA256 (Windows).",
        "role_data": "data",
        "role_codebook": "codebook",
        "role_spec": "table specification",
        "role_weights": "weighted file (weights)",
        "role_unweighted": "unweighted wave (input of the weighting)",
        "role_weighting_spec": "weighting specification",
        "role_margins": "population margins",
        "role_gross": "gross sample",
        "role_origin_rules": "origin rules",
    },
}

METHOD_TEXT: Mapping[str, tuple[str, ...]] = {
    "nl": (
        "Hoe deze cijfers gemaakt zijn",
        "De cijfers komen uit de survey Samenleven in Diversiteit (SID). De steekproef is per "
        "herkomstgroep getrokken uit het Rijksregister, met ongeveer even veel interviews per "
        "groep. Kleine groepen zijn dus sterk oververtegenwoordigd; daarom is elk antwoord "
        "gewogen. Het gewicht staat op het blad 'Herkomst van de cijfers'.",
        "Een percentage is het gewogen aandeel van de personen in de basis van de tabel "
        "(bijvoorbeeld: personen aan het werk) die het antwoord gaven. Wie 'weet niet' of 'geen "
        "antwoord' gaf, telt niet mee in de basis, tenzij de voetnoot van de tabel iets anders "
        "zegt. Een gemiddelde is het gewogen gemiddelde van de geldige antwoorden.",
        "Het betrouwbaarheidsinterval (BI) geeft de onzekerheid door de steekproef weer: bij een "
        "95%-BI ligt de waarde in de hele bevolking met 95% zekerheid tussen de ondergrens en de "
        "bovengrens. Bij de berekening is rekening gehouden met de strata en clusters van de "
        "steekproef (Taylor-linearisatie, zoals het R-pakket survey).",
        "Een * betekent dat het cijfer van de groep significant verschilt van de "
        "referentiegroep (meestal Belgische herkomst), met een t-toets op het verschil die "
        "rekening houdt met de steekproeftrekking. Bij een vergelijking van twee golven "
        "betekent * dat de verandering significant is.",
        "Cijfers op minder dan 30 respondenten (ongewogen) worden niet getoond (x). Cijfers op "
        "30 tot 49 respondenten zijn gemarkeerd met (!): lees ze voorzichtig.",
        "De kolom n geeft het aantal respondenten (ongewogen) in de basis van elke groep. Het "
        "bestand bevat alleen tabellen, geen gegevens over individuele respondenten.",
    ),
    "en": (
        "How these figures were made",
        "The figures come from the survey Samenleven in Diversiteit (SID, Living Together in "
        "Diversity). The sample was drawn per origin group from the National Register, with "
        "about as many interviews per group. Small groups are therefore heavily "
        "over-represented, so every answer is weighted. The weight is named on the "
        "'Provenance' sheet.",
        "A percentage is the weighted share, among the people in the table's base (for "
        "example: people in work), of those who gave the answer. 'Don't know' and 'no answer' "
        "are left out of the base unless the table's footnote says otherwise. A mean is the "
        "weighted mean of the valid answers.",
        "The confidence interval (CI) shows the uncertainty due to sampling: with a 95% CI the "
        "population value lies between the lower and upper bound with 95% confidence. The "
        "strata and clusters of the sample are taken into account (Taylor linearisation, as in "
        "the R package survey).",
        "A * means that the group's figure differs significantly from the reference group "
        "(usually Belgian origin), by a design-based t-test on the difference. When two waves "
        "are compared, * means that the change is significant.",
        "Figures based on fewer than 30 respondents (unweighted) are not shown (x). Figures "
        "based on 30 to 49 respondents are marked (!): read them with care.",
        "Column n gives the number of respondents (unweighted) in each group's base. The file "
        "holds tables only, no data about individual respondents.",
    ),
}



CROSSTAB_TEXT: Mapping[str, str] = {
    "row": "rij", "col": "kolom", "cell": "totaal", "base": "basis",
    "title": "{row} x {col}{base}: {per}; {level}%-BI ({ci})",
    "per_row": "verdeling van {col} binnen elke categorie van {row} (rijpercentages: elke rij "
               "telt op tot 100%)",
    "per_col": "verdeling van {row} binnen elke categorie van {col} (kolompercentages: elke "
               "kolom telt op tot 100%)",
    "per_cell": "percentage van alle respondenten in de basis (celpercentages: alle cellen "
                "samen 100%)",
    "percent": "%", "ci": "BI", "count": "gewogen aantal", "n": "n",
    "no_ci": "n.b.",
    "explain_no_ci": "n.b.: geen respondenten in de cel, dus geen logit-interval (0,0 zou een "
                     "zekerheid suggereren die er niet is; sid tables geeft dan het "
                     "Korn-Graubard-interval)",
}
"""Texts of ``sid crosstab``'s plain-text table (Dutch)."""


def localised(lang: str, key: str, **kw: Any) -> str:
    """The text ``key`` in ``lang`` (Dutch when unknown), formatted with ``kw``."""
    text = TEXTS.get(lang, TEXTS["nl"])[key]
    return text.format(**kw) if kw else text
