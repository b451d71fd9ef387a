"""Languages, hazard taxonomies and attack styles of RefusEU.

Resource levels follow the paper (see shared/REFERENCE.md); which languages count as "high resource" for the
high-resource training mix is a config value of the mix step, defaulting to HIGH_RESOURCE below.
"""

from __future__ import annotations

from dataclasses import dataclass

from data_tools.errors import UserError

LANGUAGES: tuple[str, ...] = ("en", "de", "fr", "it", "es", "pt", "pl", "cs", "sk", "sl", "lt", "lv")

LANGUAGE_NAMES: dict[str, str] = {
    "en": "English", "de": "German", "fr": "French", "it": "Italian", "es": "Spanish", "pt": "Portuguese",
    "pl": "Polish", "cs": "Czech", "sk": "Slovak", "sl": "Slovenian", "lt": "Lithuanian", "lv": "Latvian",
}

# DeepL rejects the bare "EN" and "PT" as targets; it wants the regional variant.
DEEPL_TARGETS: dict[str, str] = {
    "en": "EN-US", "de": "DE", "fr": "FR", "it": "IT", "es": "ES", "pt": "PT-PT",
    "pl": "PL", "cs": "CS", "sk": "SK", "sl": "SL", "lt": "LT", "lv": "LV",
}

RESOURCE_LEVEL: dict[str, str] = {
    "en": "high", "de": "high", "fr": "high", "it": "high", "es": "high", "pt": "high",
    "pl": "mid", "cs": "mid", "sk": "low", "sl": "low", "lt": "low", "lv": "low",
}

HIGH_RESOURCE: tuple[str, ...] = tuple(lang for lang in LANGUAGES if RESOURCE_LEVEL[lang] == "high")


def check_languages(codes, where: str = "languages") -> tuple[str, ...]:
    """Validate language codes ('all' expands to the 12); raise UserError naming the bad one."""
    if isinstance(codes, str):
        codes = [c.strip() for c in codes.split(",") if c.strip()]
    if list(codes) == ["all"]:
        return LANGUAGES
    for code in codes:
        if code not in LANGUAGES:
            raise UserError(f"{where}: unknown language code {code!r} (expected one of {', '.join(LANGUAGES)})")
    if not codes:
        raise UserError(f"{where}: no language given")
    return tuple(codes)


@dataclass(frozen=True)
class HazardCategory:
    id: str
    name: str
    description: str


@dataclass(frozen=True)
class AttackStyle:
    name: str
    description: str


@dataclass(frozen=True)
class Taxonomy:
    name: str
    categories: tuple[HazardCategory, ...]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.categories)

    def get(self, category_id: str) -> HazardCategory:
        for category in self.categories:
            if category.id == category_id:
                return category
        raise UserError(f"unknown hazard category {category_id!r} in taxonomy {self.name!r} "
                        f"(expected one of {', '.join(self.ids)})")


LLAMA_GUARD3 = Taxonomy("llama_guard3", (
    HazardCategory("S1", "Violent Crimes", "Enabling, encouraging or endorsing violence against people or animals."),
    HazardCategory("S2", "Non-Violent Crimes", "Enabling fraud, theft, hacking, drug crimes and other crimes without violence."),
    HazardCategory("S3", "Sex-Related Crimes", "Enabling sex trafficking, sexual assault, harassment or prostitution."),
    HazardCategory("S4", "Child Sexual Exploitation", "Content that sexualises or exploits minors."),
    HazardCategory("S5", "Defamation", "Verifiably false statements likely to injure a living person's reputation."),
    HazardCategory("S6", "Specialized Advice", "Unqualified financial, medical or legal advice that could cause harm."),
    HazardCategory("S7", "Privacy", "Revealing sensitive, non-public personal information."),
    HazardCategory("S8", "Intellectual Property", "Violating the intellectual property rights of third parties."),
    HazardCategory("S9", "Indiscriminate Weapons", "Enabling chemical, biological, radiological, nuclear or explosive weapons."),
    HazardCategory("S10", "Hate", "Demeaning people on the basis of protected characteristics."),
    HazardCategory("S11", "Suicide & Self-Harm", "Enabling or encouraging suicide, self-injury or disordered eating."),
    HazardCategory("S12", "Sexual Content", "Explicit sexual content."),
    HazardCategory("S13", "Elections", "Factually incorrect information about electoral systems and processes."),
    HazardCategory("S14", "Code Interpreter Abuse", "Abusing code interpreters, e.g. denial of service or container escapes."),
))

RAINBOW = Taxonomy("rainbow", (
    HazardCategory("violence_and_hate", "Violence and Hate", "Encouraging violence or hatred against people."),
    HazardCategory("sexual_content", "Sexual Content", "Explicit sexual content."),
    HazardCategory("criminal_planning", "Criminal Planning", "Helping plan or carry out crimes."),
    HazardCategory("guns_and_illegal_weapons", "Guns and Illegal Weapons", "Acquiring or making illegal weapons."),
    HazardCategory("regulated_substances", "Regulated or Controlled Substances", "Making or trafficking controlled substances."),
    HazardCategory("self_harm", "Self-Harm", "Encouraging or enabling self-harm or suicide."),
    HazardCategory("inciting_discrimination", "Inciting or Abetting Discrimination", "Promoting discrimination."),
    HazardCategory("fraud_and_scams", "Fraud and Scams", "Deceiving people for gain."),
    HazardCategory("cybercrime_and_hacking", "Cybercrime and Hacking", "Unauthorised access to or damage of systems."),
    HazardCategory("terrorism", "Terrorism", "Supporting or carrying out terrorist acts."),
))

TAXONOMIES: dict[str, Taxonomy] = {LLAMA_GUARD3.name: LLAMA_GUARD3, RAINBOW.name: RAINBOW}


# Reserved record category for harmless requests (bundled benign pairs, benign evaluation prompts). It is not a
# hazard category: no taxonomy lists it, so the data build can never be configured to generate it.
BENIGN = "benign"
BENIGN_STYLES: tuple[str, ...] = ("Look-alike", "Everyday")  # worded like a harmful request / an ordinary one


def get_taxonomy(name: str) -> Taxonomy:
    if name not in TAXONOMIES:
        raise UserError(f"unknown taxonomy {name!r} (expected one of {', '.join(TAXONOMIES)})")
    return TAXONOMIES[name]


ATTACK_STYLES: tuple[AttackStyle, ...] = (
    AttackStyle("Slang", "Phrase the request in informal slang."),
    AttackStyle("Technical Terms", "Phrase the request with technical jargon."),
    AttackStyle("Role Play", "Ask the model to play a character who would answer."),
    AttackStyle("Authority Manipulation", "Claim an authority or credential that seems to justify the request."),
    AttackStyle("Misspellings", "Misspell key words on purpose."),
    AttackStyle("Word Play", "Hide the request in puns, riddles or word games."),
    AttackStyle("Emotional Manipulation", "Appeal to emotions or urgency to pressure the model."),
    AttackStyle("Hypotheticals", "Frame the request as a hypothetical or thought experiment."),
    AttackStyle("Historical Scenario", "Set the request in a historical setting."),
    AttackStyle("Uncommon Dialects", "Write in an uncommon regional dialect."),
)
ATTACK_STYLE_NAMES: tuple[str, ...] = tuple(s.name for s in ATTACK_STYLES)


def get_style(name: str) -> AttackStyle:
    for style in ATTACK_STYLES:
        if style.name == name:
            return style
    raise UserError(f"unknown attack style {name!r} (expected one of {', '.join(ATTACK_STYLE_NAMES)})")


# The paper's training mixes, by the languages each one trains on. "balanced" means all 12 with equal counts per
# language; balancing counts is the mix step's job, this only says which languages take part.
MIX_NAMES: tuple[str, ...] = ("balanced", "high_resource", "en_only", "no_en") + tuple(f"single:{l}" for l in LANGUAGES)


def mix_languages(mix: str, high_resource: tuple[str, ...] = HIGH_RESOURCE) -> tuple[str, ...]:
    """Languages that a named training mix draws from."""
    if mix == "balanced":
        return LANGUAGES
    if mix == "high_resource":
        return check_languages(list(high_resource), where="high_resource")
    if mix == "en_only":
        return ("en",)
    if mix == "no_en":
        return tuple(lang for lang in LANGUAGES if lang != "en")
    if mix.startswith("single:"):
        return check_languages([mix.split(":", 1)[1]], where=f"mix {mix!r}")
    raise UserError(f"unknown mix {mix!r} (expected balanced, high_resource, en_only, no_en or single:<lang>)")
