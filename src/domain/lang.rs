//! The two languages we speak, and how dates and numbers are written in each. Pages and
//! e-mail both use them, so they live here rather than beside either.

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    En,
    Nl,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Nl => "nl",
        }
    }

    /// `nl`, `nl-NL`, `en-GB`, … ; anything else is not a language we speak.
    pub fn parse(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
        match primary.as_str() {
            "nl" => Some(Lang::Nl),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The other language, for the switch link on every page.
    pub fn other(self) -> Lang {
        match self {
            Lang::En => Lang::Nl,
            Lang::Nl => Lang::En,
        }
    }
}

const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const MONTHS_NL: [&str; 12] = [
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
];

/// A date as people write it: "29 November 2026" / "29 november 2026", with the time when
/// `with_time` (24-hour clock, UTC).
pub fn long_date(lang: Lang, t: time::OffsetDateTime, with_time: bool) -> String {
    let months = match lang {
        Lang::En => &MONTHS_EN,
        Lang::Nl => &MONTHS_NL,
    };
    let day = format!("{} {} {}", t.day(), months[t.month() as usize - 1], t.year());
    if with_time { format!("{day}, {:02}:{:02}", t.hour(), t.minute()) } else { day }
}

/// A number as people write it: a decimal comma in Dutch ("1,5"), a point in English.
pub fn number(lang: Lang, n: f64) -> String {
    let text = if n.fract() == 0.0 { format!("{n:.0}") } else { format!("{n}") };
    match lang {
        Lang::En => text,
        Lang::Nl => text.replace('.', ","),
    }
}
